/** The rich-text schema every section uses: headings, paragraphs, quotes, code, lists, links. */

import { Schema, type MarkSpec } from "prosemirror-model";
import { schema as basic } from "prosemirror-schema-basic";
import { addListNodes } from "prosemirror-schema-list";

const nodes = addListNodes(basic.spec.nodes.remove("image"), "paragraph block*", "block");

const FOLLOWED_PROTOCOLS = ["http:", "https:", "mailto:"];

/**
 * The address a link may take a reader to: an absolute web or mail URL in the canonical form
 * the browser itself will read (so what was checked is what gets followed), or null.
 *
 * Link marks reach a page from any member's client, not only through the link dialog, so this
 * runs where links are drawn and parsed. The URL parser (not a pattern) decides the scheme,
 * exactly as the browser would on a click: it drops the spaces, control characters, tabs and
 * newlines that hide `javascript:` from naive checks. Relative addresses are refused too: the
 * dialog never makes one, and one would point into this app (`/api/...`) from a link that
 * looks like anything.
 */
export function linkHref(value: unknown): string | null {
  if (typeof value !== "string") return null;
  try {
    const url = new URL(value);
    return FOLLOWED_PROTOCOLS.includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

/** What the link dialog accepts: a web or mail address, `https://` added when none is given. */
export function safeHref(input: string): string | null {
  const text = input.trim();
  if (!text) return null;
  return linkHref(/^[a-z][a-z0-9+.-]*:/i.test(text) ? text : `https://${text}`);
}

const basicLink = basic.spec.marks.get("link")!;

const link: MarkSpec = {
  ...basicLink,
  // Pasted HTML is another member's (or a web page's) markup: its links pass the same check,
  // and a link that fails it is pasted as plain text.
  parseDOM: [
    {
      tag: "a[href]",
      getAttrs(dom) {
        const href = linkHref(dom.getAttribute("href"));
        return href ? { href, title: dom.getAttribute("title") } : false;
      },
    },
  ],
  toDOM(mark) {
    const href = linkHref(mark.attrs.href);
    const title = typeof mark.attrs.title === "string" ? mark.attrs.title : null;
    // A refused address is drawn as an anchor without href: inert (not followed, not
    // focusable), and never parsed back into a link when ProseMirror re-reads the DOM.
    if (!href) return ["a", { class: "link-refused", title: "Not a web or mail address: not followed" }, 0];
    // A web page opens in a new tab without an opener or a referrer: it can neither script
    // this page nor learn the document's address. A mail link opens the mail program, no tab.
    const target = href.startsWith("mailto:") ? null : "_blank";
    return ["a", { href, title, rel: "noopener noreferrer nofollow", target }, 0];
  },
};

export const schema = new Schema({
  nodes,
  marks: basic.spec.marks.update("link", link),
});
