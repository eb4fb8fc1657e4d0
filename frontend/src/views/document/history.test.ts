import { describe, expect, it } from "vitest";
import type { Version } from "../../api";
import { changed, diffPieces, editorsLine, restoreQuestion, versionLabel, wordTotals, wordsLine } from "./history";

function version(overrides: Partial<Version> = {}): Version {
  return {
    id: "v1",
    number: 1,
    kind: "auto",
    name: null,
    created_at: "2026-11-30T10:00:00Z",
    created_by: null,
    creator: null,
    editors: [],
    words: {},
    ...overrides,
  };
}

describe("versionLabel", () => {
  it("uses the name a person gave", () => {
    expect(versionLabel(version({ kind: "named", name: "Sent to client" }))).toBe("Sent to client");
  });
  it("says what kind of checkpoint an unnamed one is", () => {
    expect(versionLabel(version())).toBe("Automatic checkpoint");
    expect(versionLabel(version({ kind: "deletion" }))).toBe("Section deleted");
  });
});

describe("words", () => {
  it("adds up every section's words added and removed", () => {
    const v = version({ words: { a: { added: 10, removed: 2 }, b: { added: 3, removed: 1 } } });
    expect(wordTotals(v)).toEqual({ added: 13, removed: 3 });
    expect(wordsLine(v)).toBe("+13 −3 words");
  });
  it("says when the server is still counting, and when nothing changed", () => {
    expect(wordTotals(version({ words: null }))).toBeNull();
    expect(wordsLine(version({ words: null }))).toBe("counting words…");
    expect(wordsLine(version({ words: { a: { added: 0, removed: 0 } } }))).toBe("no change in words");
  });
});

describe("editorsLine", () => {
  it("names who edited since the previous version", () => {
    const v = version({ editors: [{ id: "1", name: "Ada" }, { id: "2", name: "Bo" }] });
    expect(editorsLine(v)).toBe("Edited by Ada, Bo");
    expect(editorsLine(version())).toBe("No edits since the previous version");
  });
});

describe("diffPieces", () => {
  it("turns the server's runs into unchanged, inserted and deleted pieces", () => {
    const runs = [
      { op: "equal" as const, text: "The " },
      { op: "delete" as const, text: "old" },
      { op: "insert" as const, text: "new" },
      { op: "equal" as const, text: "" },
    ];
    expect(diffPieces(runs)).toEqual([
      { kind: "same", text: "The " },
      { kind: "del", text: "old" },
      { kind: "ins", text: "new" },
    ]);
    expect(changed(runs)).toBe(true);
    expect(changed([{ op: "equal", text: "same" }])).toBe(false);
  });
});

describe("restoreQuestion", () => {
  it("says what is replaced, and for whom", () => {
    const named = version({ kind: "named", name: "Before review" });
    expect(restoreQuestion(named, "Budget")).toContain("the section “Budget” as it was in “Before review”");
    expect(restoreQuestion(named, null)).toContain("every section of the document");
    expect(restoreQuestion(named, null)).toContain("for everyone editing now");
  });
});
