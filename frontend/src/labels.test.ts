import { describe, expect, it } from "vitest";
import { parseRetryAfter } from "./api";
import { waitText } from "./labels";

describe("waitText", () => {
  it("says seconds under a minute and whole minutes, rounded up, beyond", () => {
    expect(waitText(0.2)).toBe("1 s");
    expect(waitText(45)).toBe("45 s");
    expect(waitText(59.5)).toBe("1 min");
    expect(waitText(60)).toBe("1 min");
    expect(waitText(61)).toBe("2 min");
    expect(waitText(287)).toBe("5 min");
  });
});

describe("parseRetryAfter", () => {
  it("reads whole seconds and nothing else", () => {
    expect(parseRetryAfter("287")).toBe(287);
    expect(parseRetryAfter(" 3 ")).toBe(3);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT")).toBeNull();
    expect(parseRetryAfter("-5")).toBeNull();
  });
});
