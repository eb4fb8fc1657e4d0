import { describe, expect, it, vi } from "vitest";
import * as Y from "yjs";
import { initProseMirrorDoc, prosemirrorToYXmlFragment } from "y-prosemirror";
import { schema } from "./editor/schema";
import type { CommentRecord } from "./api";
import { CommentFeed, anchorRange, can, resolveRange, threadsOf, type PmMapping, type Thread } from "./comments";

const p = (text: string) => schema.node("paragraph", null, text ? [schema.text(text)] : []);

function sectionDoc(...paragraphs: string[]): { ydoc: Y.Doc; fragment: Y.XmlFragment } {
  const ydoc = new Y.Doc();
  const fragment = ydoc.getXmlFragment("section:s1");
  prosemirrorToYXmlFragment(schema.node("doc", null, paragraphs.map(p)), fragment);
  return { ydoc, fragment };
}

/** What the section looks like now, with y-prosemirror's mapping (as a bound editor has it). */
function view(fragment: Y.XmlFragment): { text: (from: number, to: number) => string; mapping: PmMapping; find: (s: string) => [number, number] } {
  const { doc, mapping } = initProseMirrorDoc(fragment, schema);
  return {
    mapping: mapping as PmMapping,
    text: (from, to) => doc.textBetween(from, to, "\n"),
    find: (needle) => {
      let found: [number, number] | null = null;
      doc.descendants((node, pos) => {
        if (found || !node.isText) return;
        const at = node.text!.indexOf(needle);
        if (at >= 0) found = [pos + at, pos + at + needle.length];
      });
      if (!found) throw new Error(`${needle} not found`);
      return found;
    },
  };
}

/** A second replica that edits and syncs back, like a remote user. */
function remoteEdit(ydoc: Y.Doc, edit: (remote: Y.Doc) => void): void {
  const remote = new Y.Doc();
  Y.applyUpdate(remote, Y.encodeStateAsUpdate(ydoc));
  const before = Y.encodeStateVector(ydoc);
  edit(remote);
  Y.applyUpdate(ydoc, Y.encodeStateAsUpdate(remote, before));
}

const firstText = (doc: Y.Doc, paragraph = 0): Y.XmlText =>
  (doc.getXmlFragment("section:s1").get(paragraph) as Y.XmlElement).get(0) as Y.XmlText;

describe("comment anchoring with relative positions", () => {
  it("resolves a fresh anchor to the same range", () => {
    const { ydoc, fragment } = sectionDoc("Hello world", "Second line");
    const v = view(fragment);
    const [from, to] = v.find("world");
    const anchor = anchorRange(fragment, v.mapping, from, to);
    expect(resolveRange(ydoc, fragment, v.mapping, anchor)).toEqual({ from, to });
  });

  it("stays on its text when someone inserts before it", () => {
    const { ydoc, fragment } = sectionDoc("Hello world", "Second line");
    let v = view(fragment);
    const anchor = anchorRange(fragment, v.mapping, ...v.find("world"));
    remoteEdit(ydoc, (remote) => firstText(remote).insert(6, "big wide "));
    v = view(fragment);
    const range = resolveRange(ydoc, fragment, v.mapping, anchor)!;
    expect(v.text(range.from, range.to)).toBe("world");
  });

  it("stays on its text when a paragraph is inserted above it", () => {
    const { ydoc, fragment } = sectionDoc("Intro", "Hello world");
    let v = view(fragment);
    const anchor = anchorRange(fragment, v.mapping, ...v.find("Hello"));
    remoteEdit(ydoc, (remote) => {
      const para = new Y.XmlElement("paragraph");
      para.insert(0, [new Y.XmlText("A new first paragraph")]);
      remote.getXmlFragment("section:s1").insert(0, [para]);
    });
    v = view(fragment);
    const range = resolveRange(ydoc, fragment, v.mapping, anchor)!;
    expect(v.text(range.from, range.to)).toBe("Hello");
  });

  it("grows with text typed inside the range", () => {
    const { ydoc, fragment } = sectionDoc("Hello world");
    let v = view(fragment);
    const anchor = anchorRange(fragment, v.mapping, ...v.find("world"));
    remoteEdit(ydoc, (remote) => firstText(remote).insert(8, "--"));
    v = view(fragment);
    const range = resolveRange(ydoc, fragment, v.mapping, anchor)!;
    expect(v.text(range.from, range.to)).toBe("wo--rld");
  });

  it("is gone once its whole text is deleted", () => {
    const { ydoc, fragment } = sectionDoc("Hello world");
    let v = view(fragment);
    const anchor = anchorRange(fragment, v.mapping, ...v.find("world"));
    remoteEdit(ydoc, (remote) => firstText(remote).delete(5, 6));
    v = view(fragment);
    expect(resolveRange(ydoc, fragment, v.mapping, anchor)).toBeNull();
  });

  it("only reads the document: making and resolving anchors writes nothing", () => {
    const { ydoc, fragment } = sectionDoc("Hello world");
    const v = view(fragment);
    const state = Y.encodeStateVector(ydoc);
    const updates: Uint8Array[] = [];
    ydoc.on("update", (u: Uint8Array) => updates.push(u));
    const anchor = anchorRange(fragment, v.mapping, ...v.find("world"));
    resolveRange(ydoc, fragment, v.mapping, anchor);
    expect(updates).toEqual([]);
    expect(Y.encodeStateVector(ydoc)).toEqual(state);
    expect([...ydoc.share.keys()]).toEqual(["section:s1"]);
  });

  it("resolves nothing from a missing or unreadable anchor", () => {
    const { ydoc, fragment } = sectionDoc("Hello world");
    const v = view(fragment);
    expect(resolveRange(ydoc, fragment, v.mapping, null)).toBeNull();
    expect(resolveRange(ydoc, fragment, v.mapping, { start: "%%%", end: "AAAA" })).toBeNull();
  });

  it("does not resolve in another section's fragment", () => {
    const { ydoc, fragment } = sectionDoc("Hello world");
    const other = ydoc.getXmlFragment("section:s2");
    prosemirrorToYXmlFragment(schema.node("doc", null, [p("Elsewhere entirely")]), other);
    const v = view(fragment);
    const anchor = anchorRange(fragment, v.mapping, ...v.find("world"));
    expect(resolveRange(ydoc, other, view(other).mapping, anchor)).toBeNull();
  });
});

let counter = 0;
function record(fields: Partial<CommentRecord> = {}): CommentRecord {
  counter += 1;
  return {
    id: `c${counter}`,
    document_id: "d1",
    section_id: "s1",
    parent_id: null,
    author: { id: "u1", name: "Ada" },
    body: `comment ${counter}`,
    quote: "world",
    anchor: { start: "AA==", end: "AQ==" },
    suggestion: null,
    status: "open",
    decided_by: null,
    decided_at: null,
    created_at: `2026-01-01T00:00:${String(counter % 60).padStart(2, "0")}Z`,
    updated_at: "2026-01-01T00:00:00Z",
    edited_at: null,
    actions: ["reply"],
    ...fields,
  };
}

describe("threads from the server's records", () => {
  it("groups replies under their thread, oldest first, and drops replies without one", () => {
    const first = record({ created_at: "2026-01-01T10:00:00Z" });
    const second = record({ created_at: "2026-01-01T09:00:00Z" });
    const late = record({ parent_id: first.id, created_at: "2026-01-01T12:00:00Z" });
    const early = record({ parent_id: first.id, created_at: "2026-01-01T11:00:00Z" });
    const stray = record({ parent_id: "gone" });
    const threads = threadsOf([late, first, stray, early, second]);
    expect(threads.map((t) => t.id)).toEqual([second.id, first.id]);
    expect(threads[1].replies.map((r) => r.id)).toEqual([early.id, late.id]);
    expect(threads[0].replies).toEqual([]);
  });

  it("offers only what the server lists for me", () => {
    const c = record({ actions: ["reply", "resolve"] });
    expect(can(c, "resolve")).toBe(true);
    expect(can(c, "accept")).toBe(false);
    expect(can(c, "delete")).toBe(false);
  });
});

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("the comment feed", () => {
  it("coalesces refreshes asked for while one is in flight into one more", async () => {
    const answers: ReturnType<typeof deferred<CommentRecord[]>>[] = [];
    const load = vi.fn(() => {
      const d = deferred<CommentRecord[]>();
      answers.push(d);
      return d.promise;
    });
    const seen: Thread[][] = [];
    const feed = new CommentFeed(load, (t) => seen.push(t));
    const first = feed.start();
    void feed.refresh();
    void feed.refresh();
    expect(load).toHaveBeenCalledTimes(1);
    answers[0].resolve([record()]);
    await vi.waitFor(() => expect(load).toHaveBeenCalledTimes(2));
    const latest = record({ body: "latest" });
    answers[1].resolve([latest]);
    await first;
    expect(load).toHaveBeenCalledTimes(2);
    expect(seen.at(-1)!.map((t) => t.body)).toEqual(["latest"]);
  });

  it("does not let a list asked for before my own change overwrite it", async () => {
    const answers: ReturnType<typeof deferred<CommentRecord[]>>[] = [];
    const load = vi.fn(() => {
      const d = deferred<CommentRecord[]>();
      answers.push(d);
      return d.promise;
    });
    const seen: Thread[][] = [];
    const feed = new CommentFeed(load, (t) => seen.push(t));
    const done = feed.start();
    const mine = record({ body: "mine" });
    feed.put(mine);
    expect(seen.at(-1)!.map((t) => t.id)).toEqual([mine.id]);
    answers[0].resolve([]); // stale: asked before my comment existed
    await vi.waitFor(() => expect(load).toHaveBeenCalledTimes(2));
    expect(seen.at(-1)!.map((t) => t.id)).toEqual([mine.id]);
    answers[1].resolve([mine]);
    await done;
    expect(seen.at(-1)!.map((t) => t.id)).toEqual([mine.id]);
  });

  it("removes a deleted thread with its replies, and keeps what it had when a load fails", async () => {
    const thread = record();
    const reply = record({ parent_id: thread.id });
    const other = record();
    let fail = false;
    const load = vi.fn(async () => {
      if (fail) throw new Error("offline");
      return [thread, reply, other];
    });
    const seen: Thread[][] = [];
    const feed = new CommentFeed(load, (t) => seen.push(t));
    await feed.start();
    expect(feed.threads.map((t) => t.id)).toEqual([thread.id, other.id]);
    feed.remove(thread.id);
    expect(feed.threads.map((t) => t.id)).toEqual([other.id]);
    fail = true;
    await feed.refresh();
    expect(feed.threads.map((t) => t.id)).toEqual([other.id]);
  });
});
