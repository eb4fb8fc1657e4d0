/**
 * What the signed-in user may do in a document, as the UI shows it. The server decides and
 * enforces (DESIGN §3); this mirrors its policy so the page never offers what it would refuse.
 */

import type { Role } from "./api";

export interface Access {
  role: Role;
  /** Sections an editor is limited to; null = all. */
  sections: string[] | null;
}

export interface Capabilities {
  role: Role;
  /** Editing stopped: access was revoked or the connection was refused. */
  stopped: boolean;
  /** False for `progress` members: they get the progress view, never the text. */
  seesText: boolean;
  /** Invite, change and revoke members, rename and delete the document. */
  canManage: boolean;
  /** Add, rename, reorder and delete sections. */
  canStructure: boolean;
  /** Comment, suggest and reply (through the comments API; what I may do to each comment the
   * server lists in its `actions`). */
  canComment: boolean;
  /** Whether any of the text may be written. */
  canWriteAnything: boolean;
  /** The Y.Doc root names this user may change; null = every root. */
  writableRoots: Set<string> | null;
  canEditSection(sectionId: string): boolean;
  /** Status, assignee and due date of a section. */
  canUpdateSection(sectionId: string): boolean;
  /** Accept or reject a suggested replacement in a section: it edits the text. */
  canDecideSuggestion(sectionId: string): boolean;
  /** List, open and compare versions: the owner and editors (history holds deleted text). */
  canOpenHistory: boolean;
  /** Write a version's text of a section back: whoever may write the section. */
  canRestoreSection(sectionId: string): boolean;
}

export const sectionRoot = (sectionId: string): string => `section:${sectionId}`;

/** Everything switched off: after a revocation or a refused connection. */
export const NO_ACCESS: Access = { role: "viewer", sections: [] };

export function capabilities(access: Access, options: { stopped?: boolean } = {}): Capabilities {
  const { role } = access;
  const stopped = options.stopped === true;
  const scoped = role === "editor" && access.sections !== null;
  const wholeWriter = role === "owner" || (role === "editor" && access.sections === null);
  const scope = new Set(scoped ? (access.sections ?? []) : []);
  const canEditSection = (id: string): boolean => !stopped && (wholeWriter || (scoped && scope.has(id)));
  const canComment = !stopped && (wholeWriter || scoped || role === "reviewer");
  let writableRoots: Set<string> | null;
  if (stopped) writableRoots = new Set();
  else if (wholeWriter) writableRoots = null;
  else if (scoped) writableRoots = new Set([...scope].map(sectionRoot));
  // Comments are server records: reviewers and viewers write nothing into the document.
  else writableRoots = new Set();
  return {
    role,
    stopped,
    seesText: role !== "progress",
    canManage: !stopped && role === "owner",
    canStructure: !stopped && wholeWriter,
    canComment,
    canWriteAnything: writableRoots === null || writableRoots.size > 0,
    writableRoots,
    canEditSection,
    canUpdateSection: canEditSection,
    canDecideSuggestion: canEditSection,
    canOpenHistory: !stopped && (role === "owner" || role === "editor"),
    canRestoreSection: canEditSection,
  };
}

/**
 * True when `next` may no longer write something `previous` could: local edits not yet
 * acknowledged could then be refused by the server (which closes the socket with 4403), so
 * the page starts again from a fresh Y.Doc instead.
 */
export function writeScopeNarrowed(previous: Capabilities, next: Capabilities): boolean {
  if (previous.writableRoots === null) return next.writableRoots !== null;
  if (next.writableRoots === null) return false;
  for (const root of previous.writableRoots) {
    if (!next.writableRoots.has(root)) return true;
  }
  return false;
}

/** One sentence on what I may do, for the banner under the title. */
export function describeAccess(
  access: Access,
  sectionTitle: (id: string) => string | undefined = () => undefined,
): string {
  switch (access.role) {
    case "owner":
      return "You own this document.";
    case "editor": {
      if (access.sections === null) return "You can edit the whole document.";
      const names = access.sections.map((id) => sectionTitle(id)).filter((t): t is string => !!t);
      const what = names.length > 0 ? names.map((n) => `“${n}”`).join(", ") : `${access.sections.length} section(s)`;
      return `You can edit ${what}; other sections are read-only. You can comment everywhere.`;
    }
    case "reviewer":
      return "You are reviewing: select text to comment or suggest a change. The text itself is read-only.";
    case "viewer":
      return "You can read this document. It is read-only for you.";
    case "progress":
      return "You follow this document's progress. Its text is not shared with you.";
  }
}

/** Why a section is read-only for me (empty if it is not). */
export function readOnlyReason(caps: Capabilities, sectionId: string): string {
  if (caps.canEditSection(sectionId)) return "";
  if (caps.stopped) return "Read-only — editing has stopped";
  switch (caps.role) {
    case "editor":
      return "Read-only — outside the sections you were invited to";
    case "reviewer":
      return "Read-only — you can comment and suggest";
    default:
      return "Read-only";
  }
}
