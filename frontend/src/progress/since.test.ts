import { describe, expect, it } from "vitest";
import type { SinceLastVisit } from "../api";
import { sinceLines } from "./since";

const nothing: SinceLastVisit = {
  previous_visit_at: "2026-11-29T10:00:00Z",
  chars_inserted: 0,
  chars_deleted: 0,
  words_added: 0,
  words_removed: 0,
  active_user_ids: [],
  sections: [],
  new_members: [],
  flags_raised: [],
  flags_cleared: [],
};
const names = new Map([["u1", "Ada"]]);

describe("since you last looked", () => {
  it("says nothing when nothing moved", () => {
    expect(sinceLines(nothing, names)).toEqual([]);
  });

  it("one line per status change, new section, word change, writer, new member and flag", () => {
    expect(
      sinceLines(
        {
          ...nothing,
          chars_inserted: 40,
          chars_deleted: 3,
          words_added: 7,
          words_removed: 1,
          active_user_ids: ["u1", "gone"],
          sections: [
            { id: "a", title: "Budget", words_before: 10, words_now: 10, status_before: "draft", status_now: "done" },
            { id: "b", title: "Plan", words_before: 10, words_now: 7, status_before: "draft", status_now: "draft" },
            { id: "c", title: "Annex", words_before: null, words_now: 5, status_before: null, status_now: "draft" },
          ],
          new_members: [{ user_id: "u2", name: "Bob" }],
          flags_raised: ["late"],
          flags_cleared: ["silent"],
        },
        names,
      ),
    ).toEqual([
      "“Budget” went from Draft to Done",
      "“Plan”: −3 words",
      "New section “Annex”",
      "Words in all: −3",
      "7 words added, 1 removed",
      "40 characters written, 3 deleted",
      "Wrote since: Ada, a former member",
      "New members: Bob",
      "Newly flagged: Late",
      "No longer flagged: Silent members",
    ]);
  });
});
