/** The sections of a progress page: status, assignee, due date, schedule (with the at-risk
 * flag, for those who get it), target and words. */

import type { SectionProgress } from "../../api";
import { button, h, setMessage } from "../../dom";
import { formatDate, relativeTime, statusLabel } from "../../labels";
import { MAX_TARGET_WORDS, atRiskLabel, parseTarget } from "../../progress/at-risk";
import { scheduleLabel } from "../../progress/flags";

const col = (text: string, cls = ""): HTMLElement => h("th", { scope: "col", class: cls }, text);
const none = (): HTMLElement => h("span", { class: "muted" }, "—");

export interface SectionActions {
  /** Whether I may set this section's target (owner or assignee). */
  setsTarget(section: SectionProgress): boolean;
  saveTarget(section: SectionProgress, target: number | null): Promise<void>;
  /** Opens the share dialog for help with this section; absent when I cannot invite. */
  askForHelp?(section: SectionProgress): void;
}

function atRisk(s: SectionProgress, actions: SectionActions): HTMLElement | null {
  if (!s.at_risk) return null;
  return h(
    "div",
    { class: "at-risk", "data-at-risk": s.at_risk.reason },
    h("span", { class: "pill schedule-late" }, atRiskLabel(s.at_risk.reason)),
    h("small", { class: "at-risk-why" }, s.at_risk.explanation),
    actions.askForHelp
      ? button("Ask for help", { class: "btn btn-sm ask-for-help", "aria-label": `Ask for help with “${s.title}”` }, () => actions.askForHelp?.(s))
      : null,
  );
}

function targetCell(s: SectionProgress, actions: SectionActions): HTMLElement {
  if (!actions.setsTarget(s)) return h("td", { class: "num" }, s.target_words === null ? none() : String(s.target_words));
  const input = h("input", {
    class: "input input-sm target-input",
    inputmode: "numeric",
    value: s.target_words === null ? "" : String(s.target_words),
    placeholder: "none",
    "aria-label": `Target words of “${s.title}” (1 to ${MAX_TARGET_WORDS.toLocaleString("en")}, empty for none)`,
  });
  const error = h("small", { class: "alert alert-error", role: "alert" });
  error.hidden = true;
  input.addEventListener("change", async () => {
    const parsed = parseTarget(input.value);
    if ("error" in parsed) {
      setMessage(error, parsed.error);
      return;
    }
    setMessage(error, "");
    try {
      await actions.saveTarget(s, parsed.value);
    } catch (failure) {
      setMessage(error, failure instanceof Error ? failure.message : String(failure));
    }
  });
  return h("td", { class: "num" }, input, error);
}

export function sectionsTable(sections: SectionProgress[], actions: SectionActions): HTMLElement {
  if (!sections.length) return h("p", { class: "empty" }, "No sections yet.");
  return h(
    "table",
    { class: "table", id: "progress-sections" },
    h("caption", {}, "Sections"),
    h("thead", {}, h("tr", {}, col("Section"), col("Status"), col("Schedule"), col("Assignee"), col("Due"), col("Target", "num"), col("Words", "num"), col("Last edit"))),
    h(
      "tbody",
      {},
      ...sections.map((s) =>
        h(
          "tr",
          { "data-section-id": s.id },
          h("th", { scope: "row" }, s.title),
          h("td", {}, h("span", { class: `pill status-${s.status}` }, statusLabel(s.status))),
          h("td", {}, h("span", { class: `pill schedule-${s.schedule}` }, scheduleLabel(s.schedule)), atRisk(s, actions)),
          h("td", {}, s.assignee?.name ?? none()),
          h("td", { class: s.overdue ? "overdue" : "" }, s.due_date ? formatDate(s.due_date) : none(), s.overdue ? " (overdue)" : ""),
          targetCell(s, actions),
          h("td", { class: "num" }, s.words === null ? "—" : String(s.words)),
          h("td", {}, s.last_edit_at ? relativeTime(s.last_edit_at) : none()),
        ),
      ),
    ),
  );
}
