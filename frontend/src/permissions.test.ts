import { describe, expect, it } from "vitest";
import { capabilities, describeAccess, readOnlyReason, writeScopeNarrowed } from "./permissions";

describe("capabilities: the server's role policy as UI state", () => {
  it("lets the owner do everything", () => {
    const caps = capabilities({ role: "owner", sections: null });
    expect(caps.canManage).toBe(true);
    expect(caps.canStructure).toBe(true);
    expect(caps.canComment).toBe(true);
    expect(caps.canEditSection("any")).toBe(true);
    expect(caps.writableRoots).toBeNull();
    expect(caps.seesText).toBe(true);
  });

  it("lets a whole-document editor write and restructure, but not share", () => {
    const caps = capabilities({ role: "editor", sections: null });
    expect(caps.canManage).toBe(false);
    expect(caps.canStructure).toBe(true);
    expect(caps.canEditSection("s1")).toBe(true);
    expect(caps.writableRoots).toBeNull();
  });

  it("limits a scoped editor to its sections, commenting everywhere", () => {
    const caps = capabilities({ role: "editor", sections: ["s1"] });
    expect(caps.canEditSection("s1")).toBe(true);
    expect(caps.canEditSection("s2")).toBe(false);
    expect(caps.canUpdateSection("s2")).toBe(false);
    expect(caps.canDecideSuggestion("s1")).toBe(true);
    expect(caps.canDecideSuggestion("s2")).toBe(false);
    expect(caps.canStructure).toBe(false);
    expect(caps.canComment).toBe(true);
    expect([...caps.writableRoots!]).toEqual(["section:s1"]);
    expect(readOnlyReason(caps, "s2")).toMatch(/outside the sections/);
    expect(readOnlyReason(caps, "s1")).toBe("");
  });

  it("lets a reviewer comment but write nothing into the document", () => {
    const caps = capabilities({ role: "reviewer", sections: null });
    expect(caps.canEditSection("s1")).toBe(false);
    expect(caps.canComment).toBe(true);
    expect(caps.canDecideSuggestion("s1")).toBe(false);
    expect([...caps.writableRoots!]).toEqual([]);
    expect(caps.canWriteAnything).toBe(false);
    expect(readOnlyReason(caps, "s1")).toMatch(/comment/);
  });

  it("gives a viewer nothing to write", () => {
    const caps = capabilities({ role: "viewer", sections: null });
    expect(caps.canComment).toBe(false);
    expect(caps.canWriteAnything).toBe(false);
    expect(caps.seesText).toBe(true);
  });

  it("hides the text from progress members", () => {
    const caps = capabilities({ role: "progress", sections: null });
    expect(caps.seesText).toBe(false);
    expect(caps.canWriteAnything).toBe(false);
  });

  it("switches everything off once editing stopped (revoked, refused)", () => {
    const caps = capabilities({ role: "owner", sections: null }, { stopped: true });
    expect(caps.canEditSection("s1")).toBe(false);
    expect(caps.canComment).toBe(false);
    expect(caps.canManage).toBe(false);
    expect(caps.canWriteAnything).toBe(false);
    expect(readOnlyReason(caps, "s1")).toMatch(/stopped/);
  });
});

describe("history: the owner and editors open it, and restore what they may write", () => {
  it("opens history for the owner and every editor, scoped ones restoring only their sections", () => {
    expect(capabilities({ role: "owner", sections: null }).canOpenHistory).toBe(true);
    expect(capabilities({ role: "editor", sections: null }).canRestoreSection("s2")).toBe(true);
    const scoped = capabilities({ role: "editor", sections: ["s1"] });
    expect(scoped.canOpenHistory).toBe(true);
    expect(scoped.canRestoreSection("s1")).toBe(true);
    expect(scoped.canRestoreSection("s2")).toBe(false);
  });

  it("keeps it from viewers, reviewers, progress members, and once editing stopped", () => {
    for (const role of ["viewer", "reviewer", "progress"] as const) {
      expect(capabilities({ role, sections: null }).canOpenHistory).toBe(false);
    }
    expect(capabilities({ role: "owner", sections: null }, { stopped: true }).canOpenHistory).toBe(false);
  });
});

describe("writeScopeNarrowed: when unsent edits must be discarded", () => {
  const cap = (role: "owner" | "editor" | "reviewer" | "viewer", sections: string[] | null = null) =>
    capabilities({ role, sections });

  it("is true when a root I could write is no longer writable", () => {
    expect(writeScopeNarrowed(cap("editor"), cap("reviewer"))).toBe(true);
    expect(writeScopeNarrowed(cap("editor"), cap("editor", ["a"]))).toBe(true);
    expect(writeScopeNarrowed(cap("editor", ["a", "b"]), cap("editor", ["a"]))).toBe(true);
    expect(writeScopeNarrowed(cap("editor", ["a"]), cap("reviewer"))).toBe(true);
  });

  it("is false when access stays or widens", () => {
    expect(writeScopeNarrowed(cap("viewer"), cap("editor"))).toBe(false);
    expect(writeScopeNarrowed(cap("editor", ["a"]), cap("editor", ["a", "b"]))).toBe(false);
    expect(writeScopeNarrowed(cap("editor", ["a"]), cap("editor"))).toBe(false);
    expect(writeScopeNarrowed(cap("viewer"), cap("viewer"))).toBe(false);
    // Neither writes the document (a reviewer's comments go through the API).
    expect(writeScopeNarrowed(cap("reviewer"), cap("viewer"))).toBe(false);
  });
});

describe("describeAccess", () => {
  it("names the sections a scoped editor may edit", () => {
    const text = describeAccess({ role: "editor", sections: ["s1"] }, (id) => (id === "s1" ? "Methods" : undefined));
    expect(text).toContain("“Methods”");
    expect(text).toContain("read-only");
  });
});
