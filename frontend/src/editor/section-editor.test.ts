// @vitest-environment jsdom
// Remote cursors as another member's client publishes them: every field of an awareness state
// is chosen by that client, whatever the server checks, and ends up in this page's DOM and CSS.
import { afterEach, describe, expect, it, vi } from "vitest";
import * as Y from "yjs";
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from "y-protocols/awareness";
import { prosemirrorToYXmlFragment } from "y-prosemirror";
import { schema } from "./schema";
import { SectionEditor } from "./section-editor";

const editors: SectionEditor[] = [];
afterEach(() => {
  for (const editor of editors.splice(0)) editor.destroy();
  document.body.replaceChildren();
});

/** A read-only section showing "Hello world", bound to its Y.Doc like the page binds it. */
async function openSection(): Promise<{ ydoc: Y.Doc; awareness: Awareness; editor: SectionEditor; mount: HTMLElement }> {
  const ydoc = new Y.Doc();
  const fragment = ydoc.getXmlFragment("section:s1");
  prosemirrorToYXmlFragment(schema.node("doc", null, [schema.node("paragraph", null, [schema.text("Hello world")])]), fragment);
  const awareness = new Awareness(ydoc);
  const mount = document.createElement("div");
  document.body.append(mount);
  const editor = new SectionEditor({ mount, fragment, awareness, label: "Intro", editable: () => false, highlights: () => [] });
  editors.push(editor);
  // y-prosemirror renders the Y content on a timer after the view is built.
  await vi.waitFor(() => expect(mount.textContent).toBe("Hello world"));
  return { ydoc, awareness, editor, mount };
}

/** Another client's awareness state arriving as the protocol delivers it. */
function receiveAwareness(local: Awareness, state: Record<string, unknown>): void {
  const remote = new Awareness(new Y.Doc());
  remote.setLocalState(state);
  applyAwarenessUpdate(local, encodeAwarenessUpdate(remote, [remote.clientID]), "remote");
  remote.destroy();
}

/** A selection over "Hello" in the section's text, as y-prosemirror publishes one. */
function selectionOfHello(ydoc: Y.Doc): { anchor: unknown; head: unknown } {
  const text = (ydoc.getXmlFragment("section:s1").get(0) as Y.XmlElement).get(0) as Y.XmlText;
  return {
    anchor: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, 0)),
    head: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, 5)),
  };
}

const HOSTILE_COLORS = [
  "red;background:url(http://127.0.0.1:1/x)",
  "url(http://127.0.0.1:1/x)",
  "#fff;background-image:url(//127.0.0.1:1/x);x:",
  "image-set(url(http://127.0.0.1:1/x) 1x)",
  "#12345g",
];

describe("remote cursors", () => {
  it.each(HOSTILE_COLORS)("draw a colour %j only as a hex colour", async (color) => {
    const { ydoc, awareness, mount } = await openSection();
    receiveAwareness(awareness, { user: { id: "u-mallory", name: "Mallory", color }, cursor: selectionOfHello(ydoc) });
    const caret = await vi.waitFor(() => {
      const found = mount.querySelector<HTMLElement>(".remote-caret");
      if (!found) throw new Error("no remote caret yet");
      return found;
    });
    const selection = mount.querySelector<HTMLElement>(".remote-selection");
    expect(selection?.textContent).toBe("Hello");
    expect(caret.style.getPropertyValue("--c")).toMatch(/^#[0-9a-f]{6}$/);
    expect(mount.innerHTML).not.toMatch(/url\(|image-set|;\s*background/i);
  });

  it("draw a name as text, never as markup", async () => {
    const { ydoc, awareness, mount } = await openSection();
    const name = '<img src=x onerror="alert(1)">';
    receiveAwareness(awareness, { user: { id: "u-mallory", name, color: "#123456" }, cursor: selectionOfHello(ydoc) });
    const caret = await vi.waitFor(() => {
      const found = mount.querySelector<HTMLElement>(".remote-caret");
      if (!found) throw new Error("no remote caret yet");
      return found;
    });
    expect(caret.dataset.name).toBe(name);
    expect(caret.style.getPropertyValue("--c")).toBe("#123456");
    expect(mount.querySelector("img")).toBeNull();
  });

  it("draw a selection that ends at the section's end, and none that names another root", async () => {
    const { ydoc, awareness, mount } = await openSection();
    const fragment = ydoc.getXmlFragment("section:s1");
    const start = selectionOfHello(ydoc).anchor;
    const end = Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(fragment, fragment.length));
    expect(end).toEqual({ tname: "section:s1", assoc: 0 });
    receiveAwareness(awareness, { user: { id: "u-mallory" }, cursor: { anchor: start, head: { tname: "section:elsewhere" } } });
    receiveAwareness(awareness, { user: { id: "u-ada" }, cursor: { anchor: start, head: end } });
    await vi.waitFor(() => expect(mount.querySelectorAll(".remote-caret")).toHaveLength(1));
    expect(mount.querySelector(".remote-selection")?.textContent).toBe("Hello world");
    // Resolving a position that names a root makes Yjs create it: a stranger's name never gets there.
    expect(ydoc.share.has("section:elsewhere")).toBe(false);
  });

  it("survive malformed awareness states, and the section keeps rendering edits", async () => {
    const { ydoc, awareness, mount } = await openSection();
    const malformed: Record<string, unknown>[] = [
      { user: "mallory", cursor: selectionOfHello(ydoc) },
      { user: { id: "u-mallory" }, cursor: { anchor: 5, head: 5 } },
      { user: { id: "u-mallory" }, cursor: { anchor: { type: { client: "a", clock: {} } }, head: null } },
      { user: { id: "u-mallory" }, cursor: "everywhere" },
    ];
    for (const state of malformed) expect(() => receiveAwareness(awareness, state)).not.toThrow();
    const text = (ydoc.getXmlFragment("section:s1").get(0) as Y.XmlElement).get(0) as Y.XmlText;
    expect(() => text.insert(11, "!")).not.toThrow();
    await vi.waitFor(() => expect(mount.textContent).toBe("Hello world!"));
  });
});
