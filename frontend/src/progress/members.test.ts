import { describe, expect, it } from "vitest";
import type { Progress } from "../api";
import { wordsAdded, wordsRemoved } from "./members";

const member = {
  user_id: "u1",
  name: "Ada",
  role: "editor",
  chars_inserted: 120,
  chars_deleted: 1,
  words_added: 21,
  words_removed: 0,
  updates: 30,
  chars_current: 119,
  share: 1,
  last_active: null,
} satisfies Progress["members"][number];

describe("member figures", () => {
  it("words added and removed first, the characters behind them second", () => {
    expect(wordsAdded(member)).toEqual({ words: "21", chars: "120 characters" });
    expect(wordsRemoved(member)).toEqual({ words: "0", chars: "1 character" });
  });
});
