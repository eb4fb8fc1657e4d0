import { describe, expect, it } from "vitest";
import { dispatch, sectionRemovedNotice, type DocumentEvents } from "./live-events";

function recorder(): { calls: string[]; on: DocumentEvents } {
  const calls: string[] = [];
  return {
    calls,
    on: {
      renamed: (title) => calls.push(`renamed ${title}`),
      deleted: () => calls.push("deleted"),
      metadataChanged: () => calls.push("metadata"),
      sectionRemoved: (id, title, by) => calls.push(`removed ${id} ${title} by ${by?.name ?? "?"}`),
      commentsChanged: () => calls.push("comments"),
      revoked: () => calls.push("revoked"),
      resync: () => calls.push("resync"),
    },
  };
}

describe("dispatch", () => {
  it("turns each event into what the page does", () => {
    const { calls, on } = recorder();
    dispatch({ type: "document", change: "renamed", title: "New" }, "me", on);
    dispatch({ type: "section", change: "added", section_id: "s1" }, "me", on);
    dispatch({ type: "section", change: "removed", section_id: "s2", title: "Costs", deleted_by: { id: "u", name: "Ada" } }, "me", on);
    dispatch({ type: "member", change: "joined", user_id: "other" }, "me", on);
    dispatch({ type: "member", change: "removed", user_id: "me" }, "me", on);
    dispatch({ type: "comment", change: "created", actor_id: "other" }, "me", on);
    dispatch({ type: "comment", change: "created", actor_id: "me" }, "me", on);
    dispatch({ type: "document", change: "deleted" }, "me", on);
    dispatch({ type: "progress" }, "me", on);
    expect(calls).toEqual(["renamed New", "metadata", "removed s2 Costs by Ada", "metadata", "metadata", "revoked", "comments", "deleted"]);
  });
});

describe("sectionRemovedNotice", () => {
  it("says who deleted it, and whether I was in it", () => {
    expect(sectionRemovedNotice("Costs", { id: "u", name: "Ada" }, true)).toBe("Ada deleted the section “Costs” you were in.");
    expect(sectionRemovedNotice("", null, false)).toBe("Someone deleted a section.");
  });
});
