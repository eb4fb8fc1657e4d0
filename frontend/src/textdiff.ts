/**
 * Pure helpers for binding a <textarea> to a Y.Text.
 *
 * Indices are UTF-16 code units, like JavaScript strings, textarea selection offsets and
 * Y.Text positions. A change never splits a surrogate pair: Yjs replaces half of a split pair
 * with U+FFFD, so the changed range is widened to whole characters.
 */

export interface TextChange {
  /** Where the change starts in the old string. */
  index: number;
  /** How many code units of the old string are removed at `index`. */
  deleteCount: number;
  /** What is inserted at `index` after the removal. */
  insert: string;
}

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;

/**
 * The single smallest contiguous change turning `oldText` into `newText`: the longest common
 * prefix and then the longest common suffix (not overlapping the prefix) are kept.
 *
 * `cursor` (optional) is the caret position in `newText` after the edit. When the edit is
 * ambiguous (typing "a" into "aa" could be an insertion at 0, 1 or 2), the change is placed
 * to end at the caret when that is consistent, so it lands where the user actually typed.
 */
export function diffText(oldText: string, newText: string, cursor?: number): TextChange {
  if (oldText === newText) {
    return { index: 0, deleteCount: 0, insert: "" };
  }
  const oldLen = oldText.length;
  const newLen = newText.length;
  const minLen = Math.min(oldLen, newLen);

  let prefix = 0;
  while (prefix < minLen && oldText.charCodeAt(prefix) === newText.charCodeAt(prefix)) {
    prefix++;
  }
  // With a caret hint, the insertion (or deletion) ends at the caret: do not let the common
  // prefix run past the point where the edit must have started. Any prefix up to the longest
  // common one gives a correct change; the hint only chooses among equally small ones.
  if (cursor !== undefined && Number.isInteger(cursor)) {
    const delta = newLen - oldLen;
    const start = delta >= 0 ? cursor - delta : cursor;
    if (start >= 0 && start < prefix) {
      // Only valid if the text after the caret is an unchanged suffix of the old text.
      const suffixLen = newLen - cursor;
      const oldSuffixStart = oldLen - suffixLen;
      if (
        suffixLen >= 0 &&
        oldSuffixStart >= start &&
        oldText.slice(oldSuffixStart) === newText.slice(cursor)
      ) {
        prefix = start;
      }
    }
  }

  let suffix = 0;
  const maxSuffix = minLen - prefix;
  while (
    suffix < maxSuffix &&
    oldText.charCodeAt(oldLen - 1 - suffix) === newText.charCodeAt(newLen - 1 - suffix)
  ) {
    suffix++;
  }

  // Do not cut a surrogate pair in two: move the prefix end back before a high surrogate…
  if (prefix > 0 && isHighSurrogate(oldText.charCodeAt(prefix - 1))) {
    prefix--;
  }
  // …and the suffix start forward past a low surrogate whose high half is in the change.
  if (suffix > 0 && isLowSurrogate(oldText.charCodeAt(oldLen - suffix))) {
    suffix--;
  }

  return {
    index: prefix,
    deleteCount: oldLen - prefix - suffix,
    insert: newText.slice(prefix, newLen - suffix),
  };
}

/** Applies a change to a string (the inverse of diffText, used by tests and as a check). */
export function applyChange(text: string, change: TextChange): string {
  return (
    text.slice(0, change.index) + change.insert + text.slice(change.index + change.deleteCount)
  );
}

/** One operation of a Yjs text delta (Y.YTextEvent.delta), only the parts used here. */
export interface DeltaOp {
  retain?: number;
  insert?: string | object | unknown[];
  delete?: number;
}

/**
 * Where a position ends up after a remote delta is applied to the text it points into.
 *
 * `stickRight`: when text is inserted exactly at the position, move past it (true) or stay
 * before it (false). A collapsed caret sticks right (like Y.RelativePosition's default
 * association); a selection's start sticks right and its end sticks left, so a selection
 * never grows to take in text inserted at its edges.
 * A position inside deleted text moves to where the deletion happened.
 */
export function transformPosition(pos: number, delta: readonly DeltaOp[], stickRight: boolean): number {
  let cursor = 0; // position in the text being built, i.e. after the ops seen so far
  let result = pos; // pos in the same coordinates
  for (const op of delta) {
    if (op.retain !== undefined) {
      cursor += op.retain;
    } else if (op.insert !== undefined) {
      const len = typeof op.insert === "string" ? op.insert.length : 1;
      if (cursor < result || (cursor === result && stickRight)) {
        result += len;
      }
      cursor += len;
    } else if (op.delete !== undefined) {
      if (cursor < result) {
        result -= Math.min(op.delete, result - cursor);
      }
    }
    if (cursor > result) {
      break; // the rest of the delta lies after the position
    }
  }
  return result;
}

/** Moves a selection (start, end) through a remote delta; see transformPosition. */
export function transformSelection(
  start: number,
  end: number,
  delta: readonly DeltaOp[],
): { start: number; end: number } {
  if (start === end) {
    const p = transformPosition(start, delta, true);
    return { start: p, end: p };
  }
  const newStart = transformPosition(start, delta, true);
  const newEnd = Math.max(newStart, transformPosition(end, delta, false));
  return { start: newStart, end: newEnd };
}
