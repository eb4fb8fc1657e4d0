import { describe, expect, it } from "vitest";
import { filterMentionable, insertMention, mentionQuery, mentionedIds, type Mentionable } from "./mentions";

const person = (id: string, name: string, email = `${id}@example.org`): Mentionable => ({ id, name, email });
const ada = person("a", "Ada Lovelace");
const rae = person("r", "Rae Reviewer", "rae@example.org");
const zoe = person("z", "Zoë Quinn", "zq@example.org");
const ann = person("n", "Ann");
const annLee = person("l", "Ann Lee");
const people = [ada, rae, zoe, ann, annLee];

describe("mentionQuery", () => {
  it("finds the @word the caret ends, at the start or after a space", () => {
    expect(mentionQuery("@", 1)).toEqual({ start: 0, query: "" });
    expect(mentionQuery("Ask @Ra", 7)).toEqual({ start: 4, query: "Ra" });
    expect(mentionQuery("Ask\n@zo", 7)).toEqual({ start: 4, query: "zo" });
    expect(mentionQuery("Ask @Ra and", 7)).toEqual({ start: 4, query: "Ra" });
  });

  it("ignores an address, a finished word and a caret elsewhere", () => {
    expect(mentionQuery("mail rae@example", 16)).toBeNull();
    expect(mentionQuery("Ask @Rae now", 12)).toBeNull();
    expect(mentionQuery("Ask @Ra", 3)).toBeNull();
    expect(mentionQuery("no at here", 10)).toBeNull();
  });
});

describe("filterMentionable", () => {
  it("matches the start of the name, of a word of it, or of the address, in that order", () => {
    expect(filterMentionable(people, "r")).toEqual([rae]);
    expect(filterMentionable(people, "lov")).toEqual([ada]);
    expect(filterMentionable(people, "zq")).toEqual([zoe]);
    expect(filterMentionable(people, "ann")).toEqual([ann, annLee]);
    expect(filterMentionable(people, "l")).toEqual([ada, annLee]);
  });

  it("ignores case and accents, lists everyone for a bare @, and stops at the limit", () => {
    expect(filterMentionable(people, "ZOE")).toEqual([zoe]);
    expect(filterMentionable(people, "")).toEqual([ada, ann, annLee, rae, zoe]);
    expect(filterMentionable(people, "", 2)).toEqual([ada, ann]);
    expect(filterMentionable(people, "x")).toEqual([]);
  });
});

describe("insertMention", () => {
  it("replaces the @query with the whole name and a space, caret after it", () => {
    expect(insertMention("Ask @Ra", { start: 4, query: "Ra" }, "Rae Reviewer")).toEqual({ text: "Ask @Rae Reviewer ", caret: 18 });
    expect(insertMention("Ask @Ra please", { start: 4, query: "Ra" }, "Rae Reviewer")).toEqual({
      text: "Ask @Rae Reviewer please",
      caret: 18,
    });
  });
});

describe("mentionedIds", () => {
  it("names the people whose @Name is still in the text, once each", () => {
    expect(mentionedIds("@Ada Lovelace and @Rae Reviewer, @Ada Lovelace again", people)).toEqual(["a", "r"]);
    expect(mentionedIds("@Ada Lovelace, have a look", people)).toEqual(["a"]);
  });

  it("drops a name edited away or run into other letters, and an address", () => {
    expect(mentionedIds("@Ada Love and @Rae Reviewers", people)).toEqual([]);
    expect(mentionedIds("write to me@Ada Lovelace", people)).toEqual([]);
  });

  it("takes the longest name at an @", () => {
    expect(mentionedIds("@Ann Lee says", people)).toEqual(["l"]);
    expect(mentionedIds("@Ann says", people)).toEqual(["n"]);
  });

  it("takes the one chosen when two people share a name, and nobody when none was", () => {
    const twins = [person("s1", "Sam"), person("s2", "Sam")];
    expect(mentionedIds("@Sam look", twins, new Map([["Sam", "s2"]]))).toEqual(["s2"]);
    expect(mentionedIds("@Sam look", twins)).toEqual([]);
  });
});
