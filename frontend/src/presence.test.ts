import { describe, expect, it } from "vitest";
import { PALETTE, userColor } from "./labels";
import { displayName, distinctColors, hexColor, isDrawableCursorState, isRelativePosition, remoteUser } from "./presence";

describe("awareness colours", () => {
  it("accepts #rgb and #rrggbb, as lowercase #rrggbb", () => {
    expect(hexColor("#1D4ED8")).toBe("#1d4ed8");
    expect(hexColor("#AbC")).toBe("#aabbcc");
  });

  it.each([
    "red;background:url(http://127.0.0.1:1/x)",
    "url(http://127.0.0.1:1/x)",
    "#fff;background:url(x)",
    "#fff)",
    " #ffffff",
    "#ffffff ",
    "#ffffff\n",
    "#fffffff",
    "#ffff",
    "#12345g",
    "red",
    "rgb(1,2,3)",
    "var(--accent)",
    "",
    null,
    12,
    ["#ffffff"],
    { toString: () => "#ffffff" },
  ])("refuses %j", (value) => {
    expect(hexColor(value)).toBeNull();
  });

  it("falls back to this page's own colour for the user, or for the client without an id", () => {
    expect(remoteUser({ id: "u1", color: "url(http://127.0.0.1:1/x)" }, 7).color).toBe(userColor("u1"));
    expect(remoteUser({ color: "url(x)" }, 7).color).toBe(userColor("client:7"));
    expect(remoteUser({ id: "u1", color: "#ABCDEF" }, 7).color).toBe("#abcdef");
  });
});

describe("awareness names", () => {
  it("are text, on one line, without controls or direction overrides, and bounded", () => {
    expect(displayName("<img src=x onerror=alert(1)>")).toBe("<img src=x onerror=alert(1)>");
    expect(displayName("  Ada\n\tLovelace\u0000 ")).toBe("Ada Lovelace");
    expect(displayName("Eve\u202egnp.exe")).toBe("Eve gnp.exe");
    const long = displayName("x".repeat(500));
    expect([...long]).toHaveLength(64);
    expect(long.endsWith("…")).toBe(true);
  });

  it.each([null, undefined, 42, {}, ["Ada"], "", " \u0007\t "])("are 'Someone' for %j", (value) => {
    expect(displayName(value)).toBe("Someone");
  });
});

describe("remote users", () => {
  it("keep a string id and drop anything else", () => {
    expect(remoteUser({ id: "u1", name: "Ada" }, 1)).toEqual({ id: "u1", name: "Ada", color: userColor("u1") });
    expect(remoteUser({ id: 5, name: "Ada" }, 1).id).toBeNull();
    expect(remoteUser({ id: "x".repeat(201) }, 1).id).toBeNull();
    expect(remoteUser("mallory", 1)).toEqual({ id: null, name: "Someone", color: userColor("client:1") });
    expect(remoteUser(null, 1).name).toBe("Someone");
  });
});

describe("remote cursors", () => {
  const at = { item: { client: 12, clock: 3 }, assoc: 0 };

  it("accept relative positions as Yjs writes them", () => {
    expect(isRelativePosition(at, "section:s1")).toBe(true);
    expect(isRelativePosition({ type: { client: 12, clock: 1 } }, "section:s1")).toBe(true);
    expect(isRelativePosition({ tname: "section:s1", assoc: -1 }, "section:s1")).toBe(true);
    expect(isDrawableCursorState({ user: { id: "u1" }, cursor: { anchor: at, head: at } }, "section:s1")).toBe(true);
    expect(isDrawableCursorState({ cursor: { anchor: at, head: at } }, "section:s1")).toBe(true);
  });

  it.each([
    null,
    5,
    "x",
    {},
    { assoc: 0 },
    { item: { client: "12", clock: 3 } },
    { item: { client: 12, clock: -1 } },
    { item: { client: 12, clock: 1.5 } },
    { item: { client: 12 } },
    { type: [12, 3] },
    { tname: "comments" },
    { tname: 5 },
    { item: { client: 12, clock: 3 }, assoc: "0" },
  ])("refuse the position %j", (value) => {
    expect(isRelativePosition(value, "section:s1")).toBe(false);
  });

  it("refuse states y-prosemirror would throw on", () => {
    expect(isDrawableCursorState({ user: "mallory", cursor: { anchor: at, head: at } }, "section:s1")).toBe(false);
    expect(isDrawableCursorState({ user: { id: "u1" }, cursor: "here" }, "section:s1")).toBe(false);
    expect(isDrawableCursorState({ user: { id: "u1" }, cursor: { anchor: at } }, "section:s1")).toBe(false);
    expect(isDrawableCursorState({ user: { id: "u1" } }, "section:s1")).toBe(false);
  });
});

describe("distinct colours for the people present", () => {
  // Ids whose own colours collide: found by trying, so the test holds whatever the hash.
  const colliding = (): [string, string] => {
    const seen = new Map<string, string>();
    for (let i = 0; ; i++) {
      const id = `user-${i}`;
      const other = seen.get(userColor(id));
      if (other) return [other, id];
      seen.set(userColor(id), id);
    }
  };

  it("gives two people whose colours collide two different colours, the same on every page", () => {
    const [a, b] = colliding();
    expect(userColor(a)).toBe(userColor(b));
    const one = distinctColors([a, b]);
    const other = distinctColors([b, a, b]);
    expect(one.get(a)).not.toBe(one.get(b));
    expect(one).toEqual(other);
    const smaller = [a, b].sort()[0];
    expect(one.get(smaller)).toBe(userColor(smaller)); // the smaller id keeps its own
  });

  it("keeps everyone distinct while the palette lasts", () => {
    const ids = Array.from({ length: PALETTE.length }, (_, i) => `person-${i}`);
    const colors = distinctColors(ids);
    expect(new Set(colors.values()).size).toBe(PALETTE.length);
  });

  it("leaves a person alone with their own colour", () => {
    expect(distinctColors(["solo"]).get("solo")).toBe(userColor("solo"));
  });
});
