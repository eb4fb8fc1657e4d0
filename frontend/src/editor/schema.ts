/** The rich-text schema every section uses: headings, paragraphs, quotes, code, lists, links. */

import { Schema } from "prosemirror-model";
import { schema as basic } from "prosemirror-schema-basic";
import { addListNodes } from "prosemirror-schema-list";

const nodes = addListNodes(basic.spec.nodes.remove("image"), "paragraph block*", "block");

export const schema = new Schema({
  nodes,
  marks: basic.spec.marks.update("link", {
    ...basic.spec.marks.get("link")!,
    toDOM(node) {
      const { href, title } = node.attrs as { href: string; title: string | null };
      return ["a", { href, title, rel: "noopener noreferrer nofollow", target: "_blank" }, 0];
    },
  }),
});

/** Only web and mail links are followed; anything else (javascript:, data:) is refused. */
export function safeHref(input: string): string | null {
  const text = input.trim();
  if (!text) return null;
  const withScheme = /^[a-z][a-z0-9+.-]*:/i.test(text) ? text : `https://${text}`;
  try {
    const url = new URL(withScheme);
    return ["http:", "https:", "mailto:"].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}
