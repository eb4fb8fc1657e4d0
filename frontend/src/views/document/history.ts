/**
 * What the history panel says about versions, without the DOM: how a version is called, who
 * edited and how many words changed since the one before, the runs of a comparison, and the
 * question asked before a restore. `history-panel.ts` draws these.
 */

import type { DiffRun, Version } from "../../api";

const KIND_LABELS: Record<Version["kind"], string> = {
  auto: "Automatic checkpoint",
  named: "Named version",
  restore: "Restore",
  deletion: "Section deleted",
};

/** The version's name, or what kind of checkpoint it is. */
export function versionLabel(version: Pick<Version, "name" | "kind">): string {
  return version.name || KIND_LABELS[version.kind];
}

/** Words added and removed since the previous version, over all sections; null while the
 *  server is still counting them. */
export function wordTotals(version: Pick<Version, "words">): { added: number; removed: number } | null {
  if (!version.words) return null;
  let added = 0;
  let removed = 0;
  for (const counts of Object.values(version.words)) {
    added += counts.added;
    removed += counts.removed;
  }
  return { added, removed };
}

/** "+12 −3 words", "no change in words", or "counting…". */
export function wordsLine(version: Pick<Version, "words">): string {
  const totals = wordTotals(version);
  if (totals === null) return "counting words…";
  if (totals.added === 0 && totals.removed === 0) return "no change in words";
  return `+${totals.added} −${totals.removed} words`;
}

/** Who edited since the previous version. */
export function editorsLine(version: Pick<Version, "editors">): string {
  if (version.editors.length === 0) return "No edits since the previous version";
  return `Edited by ${version.editors.map((e) => e.name).join(", ")}`;
}

/** When, in the reader's own time zone. */
export function versionTime(version: Pick<Version, "created_at">, locale?: string): string {
  return new Date(version.created_at).toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
}

/** One piece of a comparison as the panel shows it: unchanged text, or text the current
 *  document added (`ins`) or no longer has (`del`). */
export interface DiffPiece {
  kind: "same" | "ins" | "del";
  text: string;
}

export function diffPieces(runs: DiffRun[]): DiffPiece[] {
  return runs
    .filter((run) => run.text !== "")
    .map((run) => ({ kind: run.op === "insert" ? "ins" : run.op === "delete" ? "del" : "same", text: run.text }));
}

/** Whether a comparison found any change at all. */
export function changed(runs: DiffRun[]): boolean {
  return runs.some((run) => run.op !== "equal" && run.text !== "");
}

/** The confirmation before a restore: what is replaced, and that everyone sees it. */
export function restoreQuestion(version: Pick<Version, "name" | "kind">, sectionTitle: string | null): string {
  const what = sectionTitle === null ? "every section of the document" : `the section “${sectionTitle}”`;
  return `Restore ${what} as it was in “${versionLabel(version)}”? Its current text is replaced for everyone editing now; history keeps the current text too.`;
}
