// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { DOMParser as PmDOMParser, DOMSerializer } from "prosemirror-model";
import { safeHref, schema } from "./schema";

describe("links", () => {
  it("accepts web and mail addresses, adding https:// when missing", () => {
    expect(safeHref("https://example.org/a?b=1")).toBe("https://example.org/a?b=1");
    expect(safeHref("example.org")).toBe("https://example.org/");
    expect(safeHref("mailto:ada@example.org")).toBe("mailto:ada@example.org");
  });

  it("refuses scripts, data and nonsense", () => {
    expect(safeHref("javascript:alert(1)")).toBeNull();
    expect(safeHref("data:text/html,<b>x</b>")).toBeNull();
    expect(safeHref("   ")).toBeNull();
  });
});

/** The `<a>` ProseMirror draws for a link mark with these attributes, as the editor renders it. */
function renderLink(href: string, title: string | null = null): HTMLElement {
  const text = schema.text("click", [schema.marks.link.create({ href, title })]);
  const fragment = DOMSerializer.fromSchema(schema).serializeFragment(schema.node("paragraph", null, [text]).content);
  const link = fragment.firstChild;
  if (!(link instanceof HTMLElement)) throw new Error("the link rendered no element");
  return link;
}

// Any member (or any Yjs client with a member's ticket) can write a link mark straight into a
// section's XmlFragment, so the link dialog's check never sees it: these come from attackers.
const HOSTILE_HREFS = [
  "javascript:alert(1)",
  " JaVaScRiPt:alert(1)",
  "java\tscript:alert(1)",
  "java\nscript:alert(1)",
  "\u0000javascript:alert(1)",
  "\u001fjavascript:alert(1)",
  "javascript://example.org/%0aalert(1)",
  "data:text/html,<script>alert(1)</script>",
  "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
  "vbscript:msgbox(1)",
  "javascript&#58;alert(1)",
  "&#106;avascript:alert(1)",
  "jav&#x09;ascript:alert(1)",
  "blob:https://example.org/0f0f",
  "file:///etc/passwd",
  "//evil.example/x",
  "/api/auth/logout",
  "#/d/somewhere",
  "",
];

describe("links written through the CRDT", () => {
  it.each(HOSTILE_HREFS)("renders %j without an href", (href) => {
    const link = renderLink(href);
    expect(link.hasAttribute("href")).toBe(false);
    expect(link.outerHTML).not.toMatch(/script:/i);
  });

  it("renders web and mail links with their address, web pages in a new tab without an opener", () => {
    const web = renderLink("https://example.org/a?b=1", "Example");
    expect(web.getAttribute("href")).toBe("https://example.org/a?b=1");
    expect(web.getAttribute("title")).toBe("Example");
    expect(web.getAttribute("target")).toBe("_blank");
    expect(web.getAttribute("rel")?.split(" ")).toEqual(expect.arrayContaining(["noopener", "noreferrer"]));
    const mail = renderLink("mailto:ada@example.org");
    expect(mail.getAttribute("href")).toBe("mailto:ada@example.org");
    expect(mail.hasAttribute("target")).toBe(false);
  });

  it("renders the canonical form of an address, as the browser will read it", () => {
    expect(renderLink(" https://EXAMPLE.org/a b").getAttribute("href")).toBe("https://example.org/a%20b");
  });

  it("drops a hostile link when HTML is pasted, keeping its text", () => {
    const pasted = document.createElement("div");
    pasted.innerHTML = '<p><a href="&#106;avascript:alert(1)">one</a> <a href="https://example.org/">two</a></p>';
    const doc = PmDOMParser.fromSchema(schema).parse(pasted);
    const hrefs: string[] = [];
    doc.descendants((node) => {
      for (const mark of node.marks) if (mark.type === schema.marks.link) hrefs.push(String(mark.attrs.href));
    });
    expect(doc.textContent).toBe("one two");
    expect(hrefs).toEqual(["https://example.org/"]);
  });
});

describe("schema", () => {
  it("has the blocks and marks the toolbar offers", () => {
    for (const node of ["paragraph", "heading", "blockquote", "code_block", "bullet_list", "ordered_list", "list_item"]) {
      expect(schema.nodes[node]).toBeDefined();
    }
    for (const mark of ["strong", "em", "code", "link"]) expect(schema.marks[mark]).toBeDefined();
    expect(schema.nodes.image).toBeUndefined();
  });
});
