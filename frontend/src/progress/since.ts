/** "Since you last looked" in words: one line per thing that moved (the server's figures). */

import type { SinceLastVisit } from "../api";
import { statusLabel } from "../labels";
import { flagLabel } from "./flags";

const signed = (n: number): string => `${n > 0 ? "+" : "−"}${Math.abs(n)}`;

/** `names`: member names by user id, for who wrote. */
export function sinceLines(since: SinceLastVisit, names: ReadonlyMap<string, string>): string[] {
  const lines: string[] = [];
  let words = 0;
  for (const s of since.sections) {
    if (s.status_before === null) {
      lines.push(`New section “${s.title}”`);
      continue;
    }
    if (s.status_before !== s.status_now) lines.push(`“${s.title}” went from ${statusLabel(s.status_before)} to ${statusLabel(s.status_now)}`);
    if (s.words_before !== null && s.words_now !== null && s.words_before !== s.words_now) {
      words += s.words_now - s.words_before;
      lines.push(`“${s.title}”: ${signed(s.words_now - s.words_before)} words`);
    }
  }
  if (words !== 0) lines.push(`Words in all: ${signed(words)}`);
  if (since.words_added || since.words_removed) lines.push(`${since.words_added} words added, ${since.words_removed} removed`);
  if (since.chars_inserted || since.chars_deleted) lines.push(`${since.chars_inserted} characters written, ${since.chars_deleted} deleted`);
  if (since.active_user_ids.length) lines.push(`Wrote since: ${since.active_user_ids.map((id) => names.get(id) ?? "a former member").join(", ")}`);
  if (since.new_members.length) lines.push(`New members: ${since.new_members.map((m) => m.name).join(", ")}`);
  for (const f of since.flags_raised) lines.push(`Newly flagged: ${flagLabel(f)}`);
  for (const f of since.flags_cleared) lines.push(`No longer flagged: ${flagLabel(f)}`);
  return lines;
}
