import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { initProseMirrorDoc, prosemirrorToYXmlFragment } from "y-prosemirror";
import { schema } from "./editor/schema";
import {
  addComment,
  addReply,
  anchorRange,
  commentsMap,
  listComments,
  resolveRange,
  setStatus,
  type PmMapping,
} from "./comments";

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

  it("does not resolve in another section's fragment", () => {
    const { ydoc, fragment } = sectionDoc("Hello world");
    const other = ydoc.getXmlFragment("section:s2");
    prosemirrorToYXmlFragment(schema.node("doc", null, [p("Elsewhere entirely")]), other);
    const v = view(fragment);
    const anchor = anchorRange(fragment, v.mapping, ...v.find("world"));
    expect(resolveRange(ydoc, other, view(other).mapping, anchor)).toBeNull();
  });
});

describe("comment threads in the `comments` map", () => {
  const ada = { id: "u1", name: "Ada" };
  const rex = { id: "u2", name: "Rex" };

  it("writes only the comments root", () => {
    const { ydoc, fragment } = sectionDoc("Hello world");
    const v = view(fragment);
    const roots = new Set<string>();
    ydoc.on("afterTransaction", (tr: Y.Transaction) => {
      tr.changed.forEach((_keys, type) => {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        let t: Y.AbstractType<any> = type;
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        while (t._item) t = t._item.parent as Y.AbstractType<any>;
        for (const [name, root] of ydoc.share) if (root === t) roots.add(name);
      });
    });
    const id = addComment(ydoc, { section: "s1", ...anchorRange(fragment, v.mapping, ...v.find("world")), quote: "world", author: rex, body: "Which one?" });
    addReply(ydoc, id, ada, "This one.");
    setStatus(ydoc, id, "resolved", ada);
    expect([...roots]).toEqual(["comments"]);
  });

  it("round-trips a suggestion through another replica", () => {
    const { ydoc, fragment } = sectionDoc("Hello world");
    const v = view(fragment);
    const id = addComment(
      ydoc,
      { section: "s1", ...anchorRange(fragment, v.mapping, ...v.find("world")), quote: "world", author: rex, body: "", suggestion: "planet" },
      "c1",
      1000,
    );
    const replica = new Y.Doc();
    Y.applyUpdate(replica, Y.encodeStateAsUpdate(ydoc));
    addReply(replica, id, ada, "Good idea", 2000);
    setStatus(replica, id, "accepted", ada, 3000);
    Y.applyUpdate(ydoc, Y.encodeStateAsUpdate(replica));
    const [c] = listComments(ydoc);
    expect(c).toMatchObject({
      id: "c1",
      section: "s1",
      quote: "world",
      suggestion: "planet",
      status: "accepted",
      author: rex,
      decidedBy: ada,
      decidedAt: 3000,
      createdAt: 1000,
    });
    expect(c.replies).toEqual([expect.objectContaining({ author: ada, body: "Good idea", createdAt: 2000 })]);
    setStatus(ydoc, id, "open", ada);
    expect(listComments(ydoc)[0]).toMatchObject({ status: "open", decidedBy: null });
  });

  it("ignores malformed entries other clients may have written", () => {
    const ydoc = new Y.Doc();
    commentsMap(ydoc).set("bad", new Y.Map());
    expect(listComments(ydoc)).toEqual([]);
  });
});
