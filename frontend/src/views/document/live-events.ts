/**
 * What the live event channel tells an open document page, turned into what the page does:
 * a new title, sections or members to re-read, comments to re-read, a section someone deleted
 * (and who), my own access revoked, the document deleted. Nothing here polls.
 */

import { live, type LiveChannel, type LiveEvent } from "../../live";

export interface Deleter {
  id: string;
  name: string;
}

export interface DocumentEvents {
  renamed(title: string): void;
  deleted(): void;
  /** Sections or members changed: re-read them. */
  metadataChanged(): void;
  sectionRemoved(sectionId: string, title: string, by: Deleter | null): void;
  commentsChanged(): void;
  /** My own access to the document was revoked (or I left it elsewhere). */
  revoked(): void;
  /** The channel was away: re-read everything it might have told. */
  resync(): void;
}

function deleter(value: unknown): Deleter | null {
  if (!value || typeof value !== "object") return null;
  const { id, name } = value as { id?: unknown; name?: unknown };
  return typeof id === "string" && typeof name === "string" ? { id, name } : null;
}

/** Act on one event about the document; `me` is the signed-in user's id. */
export function dispatch(event: LiveEvent, me: string, on: DocumentEvents): void {
  switch (event.type) {
    case "document":
      if (event.change === "renamed" && typeof event.title === "string") on.renamed(event.title);
      else if (event.change === "deleted") on.deleted();
      return;
    case "section":
      if (event.change === "removed" && typeof event.section_id === "string") {
        on.sectionRemoved(event.section_id, typeof event.title === "string" ? event.title : "", deleter(event.deleted_by));
      }
      on.metadataChanged();
      return;
    case "member":
      if (event.change === "removed" && event.user_id === me) on.revoked();
      else on.metadataChanged();
      return;
    case "comment":
      // My own change: this page shows what the server answered already, and re-reading
      // now would redraw the panel under whatever I do next (my other tabs hear of it by
      // the awareness bump).
      if (event.actor_id !== me) on.commentsChanged();
      return;
  }
}

/** Follow one document's events until the returned function is called. */
export function followDocument(documentId: string, me: string, on: DocumentEvents, channel: LiveChannel = live): () => void {
  return channel.subscribe({
    onEvent: (event) => {
      if (event.document_id === documentId) dispatch(event, me, on);
    },
    resync: () => on.resync(),
  });
}

/** What someone in the page is told when a section goes. */
export function sectionRemovedNotice(title: string, by: Deleter | null, wasIn: boolean): string {
  const who = by ? by.name : "Someone";
  const what = title ? `the section “${title}”` : "a section";
  return wasIn ? `${who} deleted ${what} you were in.` : `${who} deleted ${what}.`;
}
