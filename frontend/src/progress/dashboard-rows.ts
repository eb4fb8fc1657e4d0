/** The dashboard's sorting and filtering: over the server's rows, no figure computed here. */

import type { ProgressSummary } from "../api";
import { trendChange } from "./series";

export type SortKey = "title" | "done" | "words" | "trend" | "next_due" | "late" | "stalled" | "flags" | "last_edit";
export type Direction = "asc" | "desc";

export interface Filter {
  text: string;
  flaggedOnly: boolean;
}

export function filterRows(rows: ProgressSummary[], filter: Filter): ProgressSummary[] {
  const text = filter.text.trim().toLocaleLowerCase();
  return rows.filter((r) => (!text || r.title.toLocaleLowerCase().includes(text)) && (!filter.flaggedOnly || r.flags.length > 0));
}

type Key = string | number | null;

function keyOf(row: ProgressSummary, key: SortKey): Key {
  switch (key) {
    case "title":
      return row.title.toLocaleLowerCase();
    case "done":
      return row.sections_total ? row.sections_done / row.sections_total : null;
    case "words":
      return row.words_total;
    case "trend":
      return trendChange(row.trend);
    case "next_due":
      return row.next_due;
    case "late":
      return row.late;
    case "stalled":
      return row.stalled;
    case "flags":
      return row.flags.length;
    case "last_edit":
      return row.last_edit_at;
  }
}

/** Sorted by `key`; rows without a value (never counted, no due date) come last either way;
 * ties keep the title order. */
export function sortRows(rows: ProgressSummary[], key: SortKey, direction: Direction): ProgressSummary[] {
  const sign = direction === "asc" ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = keyOf(a, key);
    const y = keyOf(b, key);
    if (x === null || y === null) {
      if (x !== y) return x === null ? 1 : -1;
    } else if (x !== y) {
      return (x < y ? -1 : 1) * sign;
    }
    return a.title.localeCompare(b.title);
  });
}
