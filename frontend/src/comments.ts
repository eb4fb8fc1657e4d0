/**
 * Comments and suggested replacements, stored in the Y.Doc root map `comments` (the only root a
 * reviewer may write). Each thread is a Y.Map:
 *   { section, anchor, head, quote, author {id,name}, body, suggestion?, status, replies: Y.Array,
 *     createdAt, decidedBy?, decidedAt? }
 * `anchor`/`head` are Y.RelativePositions (base64) in the section's XmlFragment, made with
 * y-prosemirror's position mapping, so a comment stays on its text while others edit.
 */

import * as Y from "yjs";
import { absolutePositionToRelativePosition, relativePositionToAbsolutePosition } from "y-prosemirror";

export type CommentStatus = "open" | "accepted" | "rejected" | "resolved";

export interface Author {
  id: string;
  name: string;
}

export interface Reply {
  id: string;
  author: Author;
  body: string;
  createdAt: number;
}

export interface Comment {
  id: string;
  section: string;
  anchor: string;
  head: string;
  quote: string;
  author: Author;
  body: string;
  suggestion: string | null;
  status: CommentStatus;
  replies: Reply[];
  createdAt: number;
  decidedBy: Author | null;
  decidedAt: number | null;
}

export const COMMENTS = "comments";
/** The transaction origin of comment writes (not tracked by any editor's undo manager). */
export const COMMENT_ORIGIN = "widen-comments";

// y-prosemirror's mapping from Y types to ProseMirror nodes (its `ProsemirrorMapping`).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PmMapping = Map<Y.AbstractType<any>, any>;

export function commentsMap(doc: Y.Doc): Y.Map<Y.Map<unknown>> {
  return doc.getMap(COMMENTS);
}

export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}

export function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

export function newId(): string {
  if (typeof crypto !== "undefined" && "randomUUID" in crypto) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Relative positions for the ProseMirror range [from, to) of a section's fragment. */
export function anchorRange(
  fragment: Y.XmlFragment,
  mapping: PmMapping,
  from: number,
  to: number,
): { anchor: string; head: string } {
  const a = absolutePositionToRelativePosition(from, fragment, mapping);
  const h = absolutePositionToRelativePosition(to, fragment, mapping);
  return { anchor: toBase64(Y.encodeRelativePosition(a)), head: toBase64(Y.encodeRelativePosition(h)) };
}

/**
 * Where a comment's text is now, as a ProseMirror range; null if the section is not this one or
 * the commented text was deleted entirely.
 */
export function resolveRange(
  doc: Y.Doc,
  fragment: Y.XmlFragment,
  mapping: PmMapping,
  comment: Pick<Comment, "anchor" | "head">,
): { from: number; to: number } | null {
  try {
    const a = relativePositionToAbsolutePosition(doc, fragment, Y.decodeRelativePosition(fromBase64(comment.anchor)), mapping);
    const h = relativePositionToAbsolutePosition(doc, fragment, Y.decodeRelativePosition(fromBase64(comment.head)), mapping);
    if (a === null || h === null) return null;
    const from = Math.min(a, h);
    const to = Math.max(a, h);
    return to > from ? { from, to } : null;
  } catch {
    return null;
  }
}

export interface NewComment {
  section: string;
  anchor: string;
  head: string;
  quote: string;
  author: Author;
  body: string;
  suggestion?: string | null;
}

export function addComment(doc: Y.Doc, input: NewComment, id: string = newId(), now: number = Date.now()): string {
  doc.transact(() => {
    const thread = new Y.Map<unknown>();
    thread.set("section", input.section);
    thread.set("anchor", input.anchor);
    thread.set("head", input.head);
    thread.set("quote", input.quote);
    thread.set("author", { id: input.author.id, name: input.author.name });
    thread.set("body", input.body);
    if (input.suggestion !== undefined && input.suggestion !== null) thread.set("suggestion", input.suggestion);
    thread.set("status", "open");
    thread.set("replies", new Y.Array<Reply>());
    thread.set("createdAt", now);
    commentsMap(doc).set(id, thread);
  }, COMMENT_ORIGIN);
  return id;
}

export function addReply(doc: Y.Doc, commentId: string, author: Author, body: string, now: number = Date.now()): void {
  const thread = commentsMap(doc).get(commentId);
  if (!thread) return;
  doc.transact(() => {
    let replies = thread.get("replies");
    if (!(replies instanceof Y.Array)) {
      replies = new Y.Array<Reply>();
      thread.set("replies", replies);
    }
    (replies as Y.Array<Reply>).push([{ id: newId(), author: { id: author.id, name: author.name }, body, createdAt: now }]);
  }, COMMENT_ORIGIN);
}

export function setStatus(doc: Y.Doc, commentId: string, status: CommentStatus, by: Author, now: number = Date.now()): void {
  const thread = commentsMap(doc).get(commentId);
  if (!thread) return;
  doc.transact(() => {
    thread.set("status", status);
    if (status === "open") {
      thread.delete("decidedBy");
      thread.delete("decidedAt");
    } else {
      thread.set("decidedBy", { id: by.id, name: by.name });
      thread.set("decidedAt", now);
    }
  }, COMMENT_ORIGIN);
}

const asAuthor = (value: unknown): Author | null => {
  if (value && typeof value === "object" && "id" in value) {
    const v = value as { id: unknown; name?: unknown };
    return { id: String(v.id), name: typeof v.name === "string" ? v.name : "Someone" };
  }
  return null;
};

const STATUSES: CommentStatus[] = ["open", "accepted", "rejected", "resolved"];

/** A plain snapshot of one thread (tolerant of what other clients may have written). */
export function readComment(id: string, thread: Y.Map<unknown>): Comment | null {
  if (!(thread instanceof Y.Map)) return null;
  const str = (key: string): string => {
    const v = thread.get(key);
    return typeof v === "string" ? v : "";
  };
  const section = str("section");
  if (!section || !str("anchor") || !str("head")) return null;
  const status = str("status") as CommentStatus;
  const replies = thread.get("replies");
  const suggestion = thread.get("suggestion");
  const createdAt = thread.get("createdAt");
  const decidedAt = thread.get("decidedAt");
  return {
    id,
    section,
    anchor: str("anchor"),
    head: str("head"),
    quote: str("quote"),
    author: asAuthor(thread.get("author")) ?? { id: "", name: "Someone" },
    body: str("body"),
    suggestion: typeof suggestion === "string" ? suggestion : null,
    status: STATUSES.includes(status) ? status : "open",
    replies:
      replies instanceof Y.Array
        ? (replies.toArray() as unknown[]).flatMap((r) => {
            if (!r || typeof r !== "object") return [];
            const reply = r as Partial<Reply>;
            return [{
              id: String(reply.id ?? ""),
              author: asAuthor(reply.author) ?? { id: "", name: "Someone" },
              body: String(reply.body ?? ""),
              createdAt: Number(reply.createdAt ?? 0),
            }];
          })
        : [],
    createdAt: typeof createdAt === "number" ? createdAt : 0,
    decidedBy: asAuthor(thread.get("decidedBy")),
    decidedAt: typeof decidedAt === "number" ? decidedAt : null,
  };
}

export function listComments(doc: Y.Doc): Comment[] {
  const out: Comment[] = [];
  commentsMap(doc).forEach((thread, id) => {
    const c = readComment(id, thread);
    if (c) out.push(c);
  });
  return out.sort((a, b) => a.createdAt - b.createdAt);
}

export const isOpen = (c: Comment): boolean => c.status === "open";
