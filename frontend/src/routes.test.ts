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
    expect(parseRoute("#/progress")).toEqual({ name: "dashboard" });
    expect(parseRoute("#/progress/")).toEqual({ name: "dashboard" });
    expect(parseRoute("#/d/%E0")).toEqual({ name: "home" });
  });

  it("parses the links that arrive by mail, and nothing that merely looks like one", () => {
    const id = "0b7e6a52-3f0c-4a43-9a39-1c2d3e4f5a6b";
    expect(parseRoute(`#/invite/${id}/Ab_c-9`)).toEqual({ name: "invite", id, token: "Ab_c-9" });
    expect(parseRoute("#/verify/tok_1")).toEqual({ name: "verify", token: "tok_1" });
    expect(parseRoute("#/reset/tok-2")).toEqual({ name: "reset", token: "tok-2" });
    expect(parseRoute(`#/invite/${id}`)).toEqual({ name: "home" });
    expect(parseRoute("#/verify/a b")).toEqual({ name: "home" });
    expect(parseRoute(`#/invite/${id}/${"x".repeat(129)}`)).toEqual({ name: "home" });
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
