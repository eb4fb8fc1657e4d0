import { describe, expect, it } from "vitest";
import type { Progress } from "../api";
import { activityPerDay, daySeconds, describeChart, trendChange, wordsOverTime } from "./series";

const report = {
  sections: [
    { id: "a", title: "Intro" },
    { id: "b", title: "Later" },
  ],
  words_series: [
    { day: "2026-11-28", words: 10, sections: { a: 10 } },
    { day: "2026-11-30", words: 25, sections: { a: 15, b: 10 } },
  ],
  activity: [{ day: "2026-11-30", chars_inserted: 120, chars_deleted: 7, words_added: 20, words_removed: 1, updates: 3, active_members: 1 }],
} as unknown as Progress;

describe("progress series", () => {
  it("words over time: the total, then each live section (null before it was counted)", () => {
    expect(wordsOverTime(report)).toEqual({
      days: ["2026-11-28", "2026-11-30"],
      series: [
        { label: "All sections", values: [10, 25] },
        { label: "Intro", values: [10, 15] },
        { label: "Later", values: [null, 10] },
      ],
    });
  });

  it("activity per day: written and deleted characters", () => {
    expect(activityPerDay(report).series.map((s) => s.values)).toEqual([[120], [7]]);
  });

  it("a chart's text alternative names the span and each series' first and last value", () => {
    expect(describeChart("Words over time", wordsOverTime(report), "words")).toBe(
      "Words over time, from 2026-11-28 to 2026-11-30. All sections: 10 to 25 words; Intro: 10 to 15 words; Later: 10 words.",
    );
    expect(describeChart("Empty", { days: [], series: [] }, "words")).toBe("Empty: no data yet.");
  });

  it("days are midnight UTC in seconds", () => {
    expect(daySeconds("1970-01-02")).toBe(86_400);
  });

  it("a trend's change ignores the days before the first count", () => {
    expect(trendChange([null, null, 4, 4, 9])).toBe(5);
    expect(trendChange([null, null])).toBeNull();
  });
});
