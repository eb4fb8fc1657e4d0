import { describe, expect, it } from "vitest";
import { removeQuestion, trashPeriod } from "./remove-document";

describe("trashPeriod", () => {
  it("says days, and hours or minutes for a period shorter than a day", () => {
    expect(trashPeriod(30)).toBe("30 days");
    expect(trashPeriod(1)).toBe("1 day");
    expect(trashPeriod(0.5)).toBe("12 hours");
    expect(trashPeriod(1 / 24)).toBe("1 hour");
    expect(trashPeriod(3 / 86400)).toBe("1 minute");
  });
});

describe("removeQuestion", () => {
  it("names the trash period to the owner", () => {
    expect(removeQuestion("Plan", true, 30)).toBe(
      "Move “Plan” to the trash? Nobody else can open it from now on; you can restore it, with its members, from the Trash on your home page for 30 days, then it is deleted for good.",
    );
    expect(removeQuestion("Plan", true, undefined)).toContain("from the Trash on your home page until it is purged.");
  });

  it("tells a member leaving that only the owner can let them back", () => {
    expect(removeQuestion("Plan", false, 30)).toBe("Leave “Plan”? You lose access at once; only the owner can invite you again.");
  });
});
