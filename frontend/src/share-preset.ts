/** What the share dialog may open prefilled with: a need prompting the invitation (the
 * progress page's "Ask for help" on a section at risk). */

import type { Reason } from "./api";

export interface SharePreset {
  reason: Reason;
  /** Sections an invited editor is limited to (empty: the whole document). */
  sections: string[];
}

/** Help with one section: reason `help`, an editor of that section only. */
export function helpWith(sectionId: string): SharePreset {
  return { reason: "help", sections: [sectionId] };
}

/** The sections the dialog opens with chosen: the preset's that the document still has (one
 * deleted meanwhile is dropped, so the invitation cannot name it). */
export function presetScope(preset: SharePreset | undefined, sectionIds: readonly string[]): string[] {
  if (!preset) return [];
  return preset.sections.filter((id) => sectionIds.includes(id));
}
