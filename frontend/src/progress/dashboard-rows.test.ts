import { describe, expect, it } from "vitest";
import type { ProgressSummary } from "../api";
import { filterRows, sortRows } from "./dashboard-rows";

function row(title: string, fields: Partial<ProgressSummary> = {}): ProgressSummary {
  return {
    document_id: title,
    title,
    role: "owner",
    sections_total: 2,
    sections_done: 0,
    status_counts: {},
    words_total: null,
    words_counted_at: null,
    trend: [],
    next_due: null,
    late: 0,
    stalled: 0,
    last_edit_at: null,
    flags: [],
    ...fields,
  };
}

const rows = [
  row("Budget", { words_total: 50, next_due: "2026-12-01", trend: [10, 50] }),
  row("annex", { words_total: 5, flags: [{ flag: "late", explanation: "x" }], late: 1, trend: [5, 5] }),
  row("Charter", { next_due: "2026-11-01", sections_done: 2 }),
];

const titles = (list: ProgressSummary[]): string[] => list.map((r) => r.title);

describe("dashboard rows", () => {
  it("sorts by title without regard to case, either way", () => {
    expect(titles(sortRows(rows, "title", "asc"))).toEqual(["annex", "Budget", "Charter"]);
    expect(titles(sortRows(rows, "title", "desc"))).toEqual(["Charter", "Budget", "annex"]);
  });

  it("puts rows without a value last whichever the direction", () => {
    expect(titles(sortRows(rows, "words", "desc"))).toEqual(["Budget", "annex", "Charter"]);
    expect(titles(sortRows(rows, "words", "asc"))).toEqual(["annex", "Budget", "Charter"]);
    expect(titles(sortRows(rows, "next_due", "asc"))).toEqual(["Charter", "Budget", "annex"]);
  });

  it("sorts by share done, trend and flags", () => {
    expect(titles(sortRows(rows, "done", "desc"))).toEqual(["Charter", "annex", "Budget"]);
    expect(titles(sortRows(rows, "trend", "desc"))).toEqual(["Budget", "annex", "Charter"]);
    expect(titles(sortRows(rows, "flags", "desc"))[0]).toBe("annex");
  });

  it("filters on the title and on flags", () => {
    expect(titles(filterRows(rows, { text: " BUD", flaggedOnly: false }))).toEqual(["Budget"]);
    expect(titles(filterRows(rows, { text: "", flaggedOnly: true }))).toEqual(["annex"]);
    expect(titles(filterRows(rows, { text: "zzz", flaggedOnly: false }))).toEqual([]);
  });
});
