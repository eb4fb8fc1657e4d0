/** A member's row figures on the progress page: words first, the characters behind them second. */

import type { Progress } from "../api";

type Member = Progress["members"][number];

export interface WordFigure {
  /** Words added (or removed): the figure a reader compares. */
  words: string;
  /** The characters written (or deleted), shown smaller beside it. */
  chars: string;
}

const characters = (n: number): string => (n === 1 ? "1 character" : `${n} characters`);

export function wordsAdded(m: Member): WordFigure {
  return { words: String(m.words_added), chars: characters(m.chars_inserted) };
}

export function wordsRemoved(m: Member): WordFigure {
  return { words: String(m.words_removed), chars: characters(m.chars_deleted) };
}
