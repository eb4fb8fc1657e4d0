import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import {
  applyChange,
  diffText,
  transformPosition,
  transformSelection,
  type DeltaOp,
} from "./textdiff";

describe("diffText", () => {
  it("returns an empty change for equal strings", () => {
    expect(diffText("same", "same")).toEqual({ index: 0, deleteCount: 0, insert: "" });
    expect(diffText("", "")).toEqual({ index: 0, deleteCount: 0, insert: "" });
  });

  it("finds an insertion", () => {
    expect(diffText("hello world", "hello, world")).toEqual({ index: 5, deleteCount: 0, insert: "," });
    expect(diffText("", "abc")).toEqual({ index: 0, deleteCount: 0, insert: "abc" });
    expect(diffText("abc", "abcdef")).toEqual({ index: 3, deleteCount: 0, insert: "def" });
    expect(diffText("abc", "xabc")).toEqual({ index: 0, deleteCount: 0, insert: "x" });
  });

  it("finds a deletion", () => {
    expect(diffText("hello, world", "hello world")).toEqual({ index: 5, deleteCount: 1, insert: "" });
    expect(diffText("abc", "")).toEqual({ index: 0, deleteCount: 3, insert: "" });
    expect(diffText("abcdef", "abc")).toEqual({ index: 3, deleteCount: 3, insert: "" });
  });

  it("finds a replacement", () => {
    expect(diffText("the cat sat", "the dog sat")).toEqual({ index: 4, deleteCount: 3, insert: "dog" });
    expect(diffText("abc", "xyz")).toEqual({ index: 0, deleteCount: 3, insert: "xyz" });
    expect(diffText("a\nb\nc", "a\nB\nc")).toEqual({ index: 2, deleteCount: 1, insert: "B" });
  });

  it("does not let prefix and suffix overlap on repeated characters", () => {
    expect(diffText("aa", "aaa")).toEqual({ index: 2, deleteCount: 0, insert: "a" });
    expect(diffText("aaa", "aa")).toEqual({ index: 2, deleteCount: 1, insert: "" });
    expect(applyChange("abab", diffText("abab", "ab"))).toBe("ab");
  });

  it("uses the caret to place an ambiguous edit where it was typed", () => {
    // typed "a" at the start of "aa": the caret is at 1
    expect(diffText("aa", "aaa", 1)).toEqual({ index: 0, deleteCount: 0, insert: "a" });
    // typed "a" in the middle
    expect(diffText("aa", "aaa", 2)).toEqual({ index: 1, deleteCount: 0, insert: "a" });
    // backspace on the first "a" of "aaa": the caret is at 0
    expect(diffText("aaa", "aa", 0)).toEqual({ index: 0, deleteCount: 1, insert: "" });
    // pasted "ab" at the start of "abab" → "ababab", caret at 2
    expect(diffText("abab", "ababab", 2)).toEqual({ index: 0, deleteCount: 0, insert: "ab" });
    // a caret that does not fit the edit is ignored
    expect(diffText("hello", "help", 0)).toEqual({ index: 3, deleteCount: 2, insert: "p" });
    expect(diffText("aa", "aaa", 99)).toEqual({ index: 2, deleteCount: 0, insert: "a" });
  });

  it("never splits a surrogate pair", () => {
    // 😀 = D83D DE00, 😃 = D83D DE03: same high surrogate
    expect(diffText("a😀b", "a😃b")).toEqual({ index: 1, deleteCount: 2, insert: "😃" });
    // different high surrogates, same low surrogate (U+1F600 vs U+1F900)
    expect(diffText("x\uD83D\uDE00y", "x\uD83E\uDE00y")).toEqual({
      index: 1,
      deleteCount: 2,
      insert: "\uD83E\uDE00",
    });
    expect(diffText("😀", "")).toEqual({ index: 0, deleteCount: 2, insert: "" });
    expect(diffText("", "😀")).toEqual({ index: 0, deleteCount: 0, insert: "😀" });
    expect(diffText("😀😀", "😀")).toEqual({ index: 2, deleteCount: 2, insert: "" });
  });

  it("is inverted by applyChange on random edits", () => {
    const alphabet = ["a", "b", "\n", " ", "é", "😀", "𝐀"];
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const randomText = (): string => {
      let s = "";
      const len = rand(12);
      for (let i = 0; i < len; i++) s += alphabet[rand(alphabet.length)];
      return s;
    };
    for (let i = 0; i < 2000; i++) {
      const before = randomText();
      const after = randomText();
      const change = diffText(before, after, rand(after.length + 2));
      expect(applyChange(before, change)).toBe(after);
      // whole characters only: no lone surrogate at either edge of the change
      const removed = before.slice(change.index, change.index + change.deleteCount);
      for (const piece of [removed, change.insert]) {
        expect(piece).toBe(Array.from(piece).join(""));
        expect(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/.test(piece)).toBe(false);
      }
    }
  });
});

describe("transformPosition / transformSelection", () => {
  it("moves positions after an insertion before them", () => {
    const delta: DeltaOp[] = [{ retain: 2 }, { insert: "xyz" }];
    expect(transformPosition(1, delta, true)).toBe(1);
    expect(transformPosition(2, delta, true)).toBe(5);
    expect(transformPosition(2, delta, false)).toBe(2);
    expect(transformPosition(4, delta, false)).toBe(7);
  });

  it("moves positions after a deletion back, and positions inside it to its start", () => {
    const delta: DeltaOp[] = [{ retain: 2 }, { delete: 3 }];
    expect(transformPosition(1, delta, true)).toBe(1);
    expect(transformPosition(2, delta, true)).toBe(2);
    expect(transformPosition(3, delta, true)).toBe(2);
    expect(transformPosition(5, delta, true)).toBe(2);
    expect(transformPosition(7, delta, true)).toBe(4);
  });

  it("handles deltas with several operations", () => {
    // "abcdefgh" → delete "a", insert "XY" after "c", delete "ef"
    const delta: DeltaOp[] = [{ delete: 1 }, { retain: 2 }, { insert: "XY" }, { retain: 1 }, { delete: 2 }];
    expect(transformPosition(8, delta, true)).toBe(7); // end of text
    expect(transformPosition(3, delta, true)).toBe(4); // before "d", after the insertion
    expect(transformPosition(3, delta, false)).toBe(2);
  });

  it("keeps a selection from growing over text inserted at its edges", () => {
    const delta: DeltaOp[] = [{ retain: 2 }, { insert: "!" }, { retain: 3 }, { insert: "?" }];
    // selection [2, 5) of "abcdefg": both edges get an insertion
    expect(transformSelection(2, 5, delta)).toEqual({ start: 3, end: 6 });
    // a collapsed caret moves past text inserted at it
    expect(transformSelection(2, 2, delta)).toEqual({ start: 3, end: 3 });
  });

  it("agrees with Y.RelativePosition for a caret on random remote edits", () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let checked = 0;
    for (let round = 0; round < 400; round++) {
      const doc = new Y.Doc();
      const text = doc.getText("body");
      text.insert(0, "0123456789abcdef".slice(0, 4 + rand(12)));
      const caret = rand(text.length + 1);
      const rel = Y.createRelativePositionFromTypeIndex(text, caret);
      let delta: DeltaOp[] = [];
      text.observe((event) => {
        delta = event.delta as DeltaOp[];
      });
      doc.transact(() => {
        const edits = 1 + rand(3);
        for (let i = 0; i < edits; i++) {
          const at = rand(text.length + 1);
          if (rand(2) === 0 && at < text.length) {
            text.delete(at, 1 + rand(Math.min(3, text.length - at)));
          } else {
            text.insert(at, "XYZ".slice(0, 1 + rand(3)));
          }
        }
      });
      // A caret on a character that the edit deleted has no single right answer (the delta
      // does not say whether an insertion at that spot came before or after the deletion).
      const initial = "0123456789abcdef";
      if (caret < initial.length && !text.toString().includes(initial[caret])) continue;
      checked++;
      const expected = Y.createAbsolutePositionFromRelativePosition(rel, doc)?.index;
      expect(transformPosition(caret, delta, true)).toBe(expected);
    }
    expect(checked).toBeGreaterThan(150);
  });
});
