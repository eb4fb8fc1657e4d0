/** "Since you last looked" in words: one line per thing that moved. */

import type { SinceLastVisit } from "../api";
import { statusLabel } from "../labels";
import { flagLabel } from "./flags";

export function sinceLines(since: SinceLastVisit): string[] {
  const lines: string[] = [];
  for (const c of since.status_changes) lines.push(`“${c.title}” went from ${statusLabel(c.before)} to ${statusLabel(c.after)}`);
  for (const title of since.new_sections) lines.push(`New section “${title}”`);
  if (since.words_delta !== null && since.words_delta !== 0) {
    const sign = since.words_delta > 0 ? "+" : "−";
    lines.push(`Words ${sign}${Math.abs(since.words_delta)} (${since.words_before} then)`);
  }
  if (since.new_members.length) lines.push(`New members: ${since.new_members.map((m) => m.name).join(", ")}`);
  for (const f of since.flags_raised) lines.push(`Newly flagged: ${flagLabel(f)}`);
  for (const f of since.flags_cleared) lines.push(`No longer flagged: ${flagLabel(f)}`);
  return lines;
}
