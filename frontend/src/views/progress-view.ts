/** Progress of a document: what a manager follows without reading drafts. */

import { ApiError, documentProgress, type Progress } from "../api";
import type { AppContext } from "../context";
import { errorText, h } from "../dom";
import { icon } from "../icons";
import { formatDate, relativeTime, statusLabel } from "../labels";
import { about, refreshOn } from "../live";
import { docHref } from "../routes";

export function progressContent(p: Progress): HTMLElement {
  const pct = p.sections_total ? Math.round((p.sections_done / p.sections_total) * 100) : 0;
  return h(
    "div",
    { class: "progress-wrap" },
    h(
      "dl",
      { class: "stats" },
      h("div", { class: "stat" }, h("dt", {}, "Sections done"), h("dd", {}, `${p.sections_done} / ${p.sections_total}`)),
      h("div", { class: "stat" }, h("dt", {}, "Words"), h("dd", {}, p.words_total === null ? "not counted" : String(p.words_total))),
      h("div", { class: "stat" }, h("dt", {}, "Next due"), h("dd", {}, p.next_due ? formatDate(p.next_due) : "—")),
      h("div", { class: "stat" }, h("dt", {}, "Last edit"), h("dd", {}, p.last_edit_at ? relativeTime(p.last_edit_at) : "—")),
    ),
    h(
      "div",
      { class: "big-progress" },
      h("div", { class: "bar", role: "progressbar", "aria-label": "Sections done", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": pct, style: `--pct:${pct}%` }),
    ),
    p.sections.length
      ? h(
          "table",
          { class: "table" },
          h("caption", { class: "visually-hidden" }, "Sections"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Section"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Assignee"), h("th", { scope: "col" }, "Due"), h("th", { scope: "col", class: "num" }, "Words"))),
          h(
            "tbody",
            {},
            ...p.sections.map((s) =>
              h(
                "tr",
                {},
                h("th", { scope: "row" }, s.title),
                h("td", {}, h("span", { class: `pill status-${s.status}` }, statusLabel(s.status))),
                h("td", {}, s.assignee?.name ?? h("span", { class: "muted" }, "—")),
                h("td", { class: s.overdue ? "overdue" : "" }, s.due_date ? formatDate(s.due_date) : h("span", { class: "muted" }, "—"), s.overdue ? " (overdue)" : ""),
                h("td", { class: "num" }, s.words === null ? "—" : String(s.words)),
              ),
            ),
          ),
        )
      : h("p", { class: "empty" }, "No sections yet."),
    p.contributors.length
      ? h(
          "section",
          { class: "contributors", "aria-labelledby": "contributors-heading" },
          h("h2", { id: "contributors-heading" }, "Contributors"),
          h("ul", { class: "plain-list" }, ...p.contributors.map((c) => h("li", {}, h("strong", {}, c.user.name), h("span", { class: "muted" }, ` — ${c.edits} edits, last ${relativeTime(c.last_edit_at)}`)))),
        )
      : null,
  );
}

export async function renderProgressPage(ctx: AppContext, id: string): Promise<void> {
  const heading = h("h1", { tabindex: -1 }, "Progress");
  const body = h("div", {}, h("p", { class: "muted", role: "status" }, "Loading progress…"));
  const back = h("a", { href: "#/", class: "back-link" }, icon("back", 16), "Your documents");
  ctx.mount(h("div", { class: "page" }, back, heading, body), heading);
  const load = async (): Promise<void> => {
    try {
      const p = await documentProgress(id);
      if (!ctx.alive()) return;
      document.title = `Progress of “${p.title}” — Widen`;
      heading.textContent = `Progress of “${p.title}”`;
      if (p.role !== "progress") {
        back.href = docHref(id);
        back.replaceChildren(icon("back", 16), "Back to the document");
      }
      body.replaceChildren(progressContent(p));
    } catch (error) {
      if (!ctx.alive()) return;
      const message = error instanceof ApiError && error.status === 404 ? "This document does not exist or you have no access to it." : errorText(error);
      body.replaceChildren(h("p", { class: "alert alert-error", role: "alert" }, message));
    }
  };
  ctx.onLeave(refreshOn(about(id, "progress", "section", "document", "member"), () => void load()));
  await load();
}
