/** The sections of a progress page: status, assignee, due date, schedule and words. */

import type { SectionProgress } from "../../api";
import { h } from "../../dom";
import { formatDate, relativeTime, statusLabel } from "../../labels";
import { scheduleLabel } from "../../progress/flags";

const col = (text: string, cls = ""): HTMLElement => h("th", { scope: "col", class: cls }, text);
const none = (): HTMLElement => h("span", { class: "muted" }, "—");

export function sectionsTable(sections: SectionProgress[]): HTMLElement {
  if (!sections.length) return h("p", { class: "empty" }, "No sections yet.");
  return h(
    "table",
    { class: "table", id: "progress-sections" },
    h("caption", {}, "Sections"),
    h("thead", {}, h("tr", {}, col("Section"), col("Status"), col("Schedule"), col("Assignee"), col("Due"), col("Words", "num"), col("Last edit"))),
    h(
      "tbody",
      {},
      ...sections.map((s) =>
        h(
          "tr",
          { "data-section-id": s.id },
          h("th", { scope: "row" }, s.title),
          h("td", {}, h("span", { class: `pill status-${s.status}` }, statusLabel(s.status))),
          h("td", {}, h("span", { class: `pill schedule-${s.schedule}` }, scheduleLabel(s.schedule))),
          h("td", {}, s.assignee?.name ?? none()),
          h("td", { class: s.overdue ? "overdue" : "" }, s.due_date ? formatDate(s.due_date) : none(), s.overdue ? " (overdue)" : ""),
          h("td", { class: "num" }, s.words === null ? "—" : String(s.words)),
          h("td", {}, s.last_edit_at ? relativeTime(s.last_edit_at) : none()),
        ),
      ),
    ),
  );
}
