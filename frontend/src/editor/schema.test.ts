import { describe, expect, it } from "vitest";
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

describe("schema", () => {
  it("has the blocks and marks the toolbar offers", () => {
    for (const node of ["paragraph", "heading", "blockquote", "code_block", "bullet_list", "ordered_list", "list_item"]) {
      expect(schema.nodes[node]).toBeDefined();
    }
    for (const mark of ["strong", "em", "code", "link"]) expect(schema.marks[mark]).toBeDefined();
    expect(schema.nodes.image).toBeUndefined();
  });
});
