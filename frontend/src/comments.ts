/**
 * Comments and suggested replacements: records on the server (`/api/documents/{id}/comments`),
 * which sets their authors and decisions. A thread is anchored to its section's text by two
 * Yjs relative positions in the section's Y.XmlFragment (base64 of `Y.encodeRelativePosition`,
 * made with y-prosemirror's position mapping), so it stays on its words while others edit; the
 * server keeps them as opaque bytes. Replies belong to a thread (`parent_id`), one level deep.
 */

import * as Y from "yjs";
import { absolutePositionToRelativePosition, relativePositionToAbsolutePosition } from "y-prosemirror";
import type { CommentAction, CommentAnchor, CommentRecord } from "./api";

export type { CommentAction, CommentAnchor, CommentRecord, CommentStatus } from "./api";

/** A thread: a comment or suggestion with its replies, oldest first. */
export interface Thread extends CommentRecord {
  replies: CommentRecord[];
}

// y-prosemirror's mapping from Y types to ProseMirror nodes (its `ProsemirrorMapping`).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PmMapping = Map<Y.AbstractType<any>, any>;

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

/** Relative positions for the ProseMirror range [from, to) of a section's fragment. */
export function anchorRange(fragment: Y.XmlFragment, mapping: PmMapping, from: number, to: number): CommentAnchor {
  const start = absolutePositionToRelativePosition(from, fragment, mapping);
  const end = absolutePositionToRelativePosition(to, fragment, mapping);
  return { start: toBase64(Y.encodeRelativePosition(start)), end: toBase64(Y.encodeRelativePosition(end)) };
}

/**
 * Where an anchor's text is now, as a ProseMirror range; null if it belongs to another
 * section, the commented text was deleted entirely, or the anchor is missing or unreadable.
 */
export function resolveRange(
  doc: Y.Doc,
  fragment: Y.XmlFragment,
  mapping: PmMapping,
  anchor: CommentAnchor | null,
): { from: number; to: number } | null {
  if (!anchor) return null;
  try {
    const a = relativePositionToAbsolutePosition(doc, fragment, Y.decodeRelativePosition(fromBase64(anchor.start)), mapping);
    const b = relativePositionToAbsolutePosition(doc, fragment, Y.decodeRelativePosition(fromBase64(anchor.end)), mapping);
    if (a === null || b === null) return null;
    const from = Math.min(a, b);
    const to = Math.max(a, b);
    return to > from ? { from, to } : null;
  } catch {
    return null;
  }
}

const time = (iso: string): number => {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : t;
};

/** Group the server's flat list into threads, each with its replies, oldest first. */
export function threadsOf(records: CommentRecord[]): Thread[] {
  const byTime = [...records].sort((a, b) => time(a.created_at) - time(b.created_at) || (a.id < b.id ? -1 : 1));
  const threads = new Map<string, Thread>();
  for (const r of byTime) if (r.parent_id === null) threads.set(r.id, { ...r, replies: [] });
  for (const r of byTime) if (r.parent_id !== null) threads.get(r.parent_id)?.replies.push(r);
  return [...threads.values()];
}

export const can = (comment: CommentRecord, action: CommentAction): boolean => comment.actions.includes(action);
export const isOpen = (c: CommentRecord): boolean => c.status === "open";
export const createdMs = (c: CommentRecord): number => time(c.created_at);

/**
 * The comments of one document as this page knows them. `refresh()` re-reads the list (calls
 * made while one is in flight coalesce into one more); `put`/`remove` apply what this page's
 * own requests returned at once, and a list that was asked for before such a change is not
 * applied over it, but read again.
 *
 * Other pages' changes arrive by `refresh()`: the document page calls it when the live event
 * channel says a comment changed, or a peer bumps `commentsRev` in its awareness state.
 */
export class CommentFeed {
  private records = new Map<string, CommentRecord>();
  private inFlight = false;
  private again = false;
  private generation = 0;
  private stopped = false;

  constructor(
    private readonly load: () => Promise<CommentRecord[]>,
    private readonly onChange: (threads: Thread[]) => void,
  ) {}

  get threads(): Thread[] {
    return threadsOf([...this.records.values()]);
  }

  start(): Promise<void> {
    return this.refresh();
  }

  stop(): void {
    this.stopped = true;
  }

  async refresh(): Promise<void> {
    if (this.stopped) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = true;
    try {
      do {
        this.again = false;
        const asked = this.generation;
        let list: CommentRecord[];
        try {
          list = await this.load();
        } catch {
          return; // keep what we have; the next bump or poll tries again
        }
        if (this.stopped) return;
        if (asked !== this.generation) {
          this.again = true; // a change of ours landed meanwhile: this list may predate it
          continue;
        }
        this.records = new Map(list.map((r) => [r.id, r]));
        this.onChange(this.threads);
      } while (this.again && !this.stopped);
    } finally {
      this.inFlight = false;
    }
  }

  /** A record this page created or changed (as the server returned it). */
  put(record: CommentRecord): void {
    this.generation += 1;
    this.records.set(record.id, record);
    this.onChange(this.threads);
  }

  /** A record this page deleted (a thread takes its replies along). */
  remove(id: string): void {
    this.generation += 1;
    this.records.delete(id);
    for (const [key, r] of this.records) if (r.parent_id === id) this.records.delete(key);
    this.onChange(this.threads);
  }
}
