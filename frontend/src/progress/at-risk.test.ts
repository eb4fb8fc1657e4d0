import { describe, expect, it } from "vitest";
import { helpWith, presetScope } from "../share-preset";
import { answersFor, atRiskLabel, parseTarget } from "./at-risk";

describe("section targets", () => {
  it("takes whole numbers within bounds, and empty as none", () => {
    expect(parseTarget(" 1,200 ")).toEqual({ value: 1200 });
    expect(parseTarget("")).toEqual({ value: null });
    expect(parseTarget("0")).toHaveProperty("error");
    expect(parseTarget("1000001")).toHaveProperty("error");
    expect(parseTarget("2.5")).toHaveProperty("error");
    expect(parseTarget("many")).toHaveProperty("error");
  });

  it("lets the owner and the assignee set them", () => {
    const assigned = { assignee: { id: "u2", name: "Bo", email: "bo@example.org" } };
    expect(answersFor("owner", "u1", assigned)).toBe(true);
    expect(answersFor("editor", "u2", assigned)).toBe(true);
    expect(answersFor("editor", "u3", assigned)).toBe(false);
    expect(answersFor("progress", "u3", { assignee: null })).toBe(false);
  });
});

describe("ask for help", () => {
  it("presets reason help and the section, dropping a section deleted meanwhile", () => {
    expect(helpWith("s1")).toEqual({ reason: "help", sections: ["s1"] });
    expect(presetScope(helpWith("s1"), ["s0", "s1"])).toEqual(["s1"]);
    expect(presetScope(helpWith("gone"), ["s0", "s1"])).toEqual([]);
    expect(presetScope(undefined, ["s0"])).toEqual([]);
  });

  it("names why a section is at risk", () => {
    expect(atRiskLabel("pace")).toBe("At risk: behind pace");
    expect(atRiskLabel("quiet")).toBe("At risk: gone quiet");
  });
});
