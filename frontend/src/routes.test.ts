import { describe, expect, it } from "vitest";
import { userColor } from "./labels";
import { docHref, parseRoute, timelineHref } from "./routes";

describe("routes", () => {
  it("parses document, timeline and progress routes", () => {
    expect(parseRoute("")).toEqual({ name: "home" });
    expect(parseRoute("#/")).toEqual({ name: "home" });
    expect(parseRoute("#/d/abc")).toEqual({ name: "document", id: "abc" });
    expect(parseRoute("#/d/abc/timeline")).toEqual({ name: "timeline", id: "abc" });
    expect(parseRoute("#/d/abc/progress")).toEqual({ name: "progress", id: "abc" });
    expect(parseRoute("#/d/%E0")).toEqual({ name: "home" });
  });

  it("round-trips ids", () => {
    expect(parseRoute(docHref("a b/c"))).toEqual({ name: "document", id: "a b/c" });
    expect(parseRoute(timelineHref("x"))).toEqual({ name: "timeline", id: "x" });
  });
});

describe("user colours", () => {
  it("are stable 6-digit hex colours, as y-prosemirror's cursors need", () => {
    expect(userColor("u-1")).toBe(userColor("u-1"));
    expect(userColor("u-1")).toMatch(/^#[0-9a-f]{6}$/);
  });
});
