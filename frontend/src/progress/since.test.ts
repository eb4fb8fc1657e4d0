import { describe, expect, it } from "vitest";
import type { SinceLastVisit } from "../api";
import { sinceLines } from "./since";

const nothing: SinceLastVisit = {
  previous_visit: "2026-11-29T10:00:00Z",
  status_changes: [],
  new_sections: [],
  words_before: 10,
  words_delta: 0,
  new_members: [],
  flags_raised: [],
  flags_cleared: [],
};

describe("since you last looked", () => {
  it("says nothing when nothing moved", () => {
    expect(sinceLines(nothing)).toEqual([]);
  });

  it("one line per status change, new section, word change, new member and flag", () => {
    expect(
      sinceLines({
        ...nothing,
        status_changes: [{ section_id: "s", title: "Budget", before: "draft", after: "done" }],
        new_sections: ["Annex"],
        words_delta: -3,
        new_members: [{ user_id: "u", name: "Bob" }],
        flags_raised: ["late"],
        flags_cleared: ["silent"],
      }),
    ).toEqual(["“Budget” went from Draft to Done", "New section “Annex”", "Words −3 (10 then)", "New members: Bob", "Newly flagged: Late", "No longer flagged: Silent members"]);
  });
});
