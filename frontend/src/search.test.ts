import { describe, expect, it } from "vitest";
import type { DocumentInfo } from "./api";
import { filterDocuments, sortDocuments } from "./doclist";
import { isSearchable, MARK_END, MARK_START, snippetParts } from "./search";

const m = (word: string): string => `${MARK_START}${word}${MARK_END}`;

describe("snippetParts", () => {
  it("splits a snippet into plain and matched runs", () => {
    expect(snippetParts(`we saw a ${m("quokka")} near the ${m("river")}.`)).toEqual([
      { text: "we saw a ", match: false },
      { text: "quokka", match: true },
      { text: " near the ", match: false },
      { text: "river", match: true },
      { text: ".", match: false },
    ]);
  });

  it("keeps markup as text and drops stray marks", () => {
    expect(snippetParts(`<img src=x onerror=alert(1)> ${m("<b>")}`)).toEqual([
      { text: "<img src=x onerror=alert(1)> ", match: false },
      { text: "<b>", match: true },
    ]);
    expect(snippetParts(`${MARK_END}a ${MARK_START}b`)).toEqual([
      { text: "a ", match: false },
      { text: "b", match: true },
    ]);
    expect(snippetParts("")).toEqual([]);
  });
});

describe("isSearchable", () => {
  it("needs a letter or a digit", () => {
    expect(isSearchable("  *\" ")).toBe(false);
    expect(isSearchable("NEAR(")).toBe(true);
    expect(isSearchable("日本")).toBe(true);
  });
});

function doc(id: string, title: string, role: DocumentInfo["role"], created: string, updated: string): DocumentInfo {
  return {
    id, title, role, sections: null, owner_id: "o", owner: { id: "o", name: "Owner" }, members: 0,
    created_at: created, updated_at: updated,
  };
}

describe("document list", () => {
  const docs = [
    doc("a", "beta", "owner", "2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"),
    doc("b", "Alpha 10", "viewer", "2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z"),
    doc("c", "alpha 9", "progress", "2026-03-01T00:00:00Z", "2026-01-01T00:00:00Z"),
  ];

  it("sorts by last change, title or creation without changing the input", () => {
    expect(sortDocuments(docs, "changed").map((d) => d.id)).toEqual(["a", "b", "c"]);
    expect(sortDocuments(docs, "title").map((d) => d.id)).toEqual(["c", "b", "a"]);
    expect(sortDocuments(docs, "created").map((d) => d.id)).toEqual(["c", "b", "a"]);
    expect(docs.map((d) => d.id)).toEqual(["a", "b", "c"]);
  });

  it("filters by ownership and by role", () => {
    expect(filterDocuments(docs, "owned").map((d) => d.id)).toEqual(["a"]);
    expect(filterDocuments(docs, "shared").map((d) => d.id)).toEqual(["b", "c"]);
    expect(filterDocuments(docs, "progress").map((d) => d.id)).toEqual(["c"]);
    expect(filterDocuments(docs, "editor")).toEqual([]);
    expect(filterDocuments(docs, "all")).toHaveLength(3);
  });
});
