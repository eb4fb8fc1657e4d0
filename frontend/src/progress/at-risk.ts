/** A section's target length and at-risk flag on the progress page. The server computes the
 * flag and decides who gets it; this only words it and checks what is typed. */

import type { Role, SectionProgress } from "../api";

/** Largest target the server takes (`MAX_TARGET_WORDS`). */
export const MAX_TARGET_WORDS = 1_000_000;

const REASONS: Record<string, string> = {
  pace: "At risk: behind pace",
  quiet: "At risk: gone quiet",
};

export function atRiskLabel(reason: string): string {
  return REASONS[reason] ?? "At risk";
}

/** Whether I set this section's target: its document's owner or its assignee (the server
 * refuses anyone else). */
export function answersFor(role: Role, userId: string, section: Pick<SectionProgress, "assignee">): boolean {
  return role === "owner" || section.assignee?.id === userId;
}

/** A target as typed: a whole number of words from 1 to MAX_TARGET_WORDS, or empty for none. */
export function parseTarget(text: string): { value: number | null } | { error: string } {
  const trimmed = text.trim().replace(/[,\s]/g, "");
  if (trimmed === "") return { value: null };
  if (!/^\d+$/.test(trimmed)) return { error: "A target is a whole number of words." };
  const value = Number(trimmed);
  if (value < 1 || value > MAX_TARGET_WORDS) return { error: `A target is between 1 and ${MAX_TARGET_WORDS.toLocaleString("en")} words.` };
  return { value };
}
