/** Progress of a document: what a manager follows without reading drafts. Numbers, names and
 * titles only; the server counts, this page arranges (`../progress/`). */

import { ApiError, documentProgress, listSections, updateSection, type Progress } from "../api";
import type { AppContext } from "../context";
import { errorText, h, toast } from "../dom";
import { icon } from "../icons";
import { formatDate, relativeTime } from "../labels";
import { about, refreshOn } from "../live";
import { ChartSet, timeChart } from "../progress/charts";
import { answersFor } from "../progress/at-risk";
import { activityPerDay, wordsOverTime } from "../progress/series";
import { dashboardHref, docHref } from "../routes";
import { helpWith } from "../share-preset";
import { indicatorsPanel } from "./progress/indicators-panel";
import { membersTable } from "./progress/members-table";
import { sectionsTable, type SectionActions } from "./progress/sections-table";
import { openShareDialog } from "./share";
import { sincePanel } from "./progress/since-panel";

/** How wide a chart may be on this screen. */
function chartWidth(): number {
  return Math.max(240, Math.min(720, window.innerWidth - 64));
}

function stats(p: Progress): HTMLElement {
  const pct = p.sections_total ? Math.round((p.sections_done / p.sections_total) * 100) : 0;
  return h(
    "div",
    {},
    h(
      "dl",
      { class: "stats" },
      h("div", { class: "stat" }, h("dt", {}, "Sections done"), h("dd", { id: "progress-done" }, `${p.sections_done} / ${p.sections_total}`)),
      h("div", { class: "stat" }, h("dt", {}, "Words"), h("dd", { id: "progress-words" }, p.words_total === null ? "not counted" : String(p.words_total))),
      h("div", { class: "stat" }, h("dt", {}, "Next due"), h("dd", {}, p.next_due ? formatDate(p.next_due) : "—")),
      h("div", { class: "stat" }, h("dt", {}, "Last edit"), h("dd", {}, p.last_edit_at ? relativeTime(p.last_edit_at) : "—")),
    ),
    h(
      "div",
      { class: "big-progress" },
      h("div", { class: "bar", role: "progressbar", "aria-label": "Sections done", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": pct, style: `--pct:${pct}%` }),
    ),
  );
}

/** What I may do with the sections of a progress page: set the targets I answer for and, as
 * the owner (who alone invites), ask for help with a section at risk. `reload` refetches. */
export function sectionActions(ctx: AppContext, p: Progress, reload: () => void): SectionActions {
  return {
    setsTarget: (s) => answersFor(p.role, ctx.user.id, s),
    saveTarget: async (s, target) => {
      await updateSection(p.document_id, s.id, { target_words: target });
      toast(target === null ? `“${s.title}” has no target now.` : `Target of “${s.title}”: ${target.toLocaleString("en")} words.`);
      reload();
    },
    askForHelp:
      p.role === "owner"
        ? (s) =>
            void listSections(p.document_id)
              .then((sections) => openShareDialog({ documentId: p.document_id, title: p.title, sections, onChanged: reload, preset: helpWith(s.id) }))
              .catch((error: unknown) => toast(errorText(error), "error"))
        : undefined,
  };
}

export function progressContent(p: Progress, charts: ChartSet, actions: SectionActions): HTMLElement {
  const width = chartWidth();
  return h(
    "div",
    { class: "progress-wrap" },
    stats(p),
    sincePanel(p),
    sectionsTable(p.sections, actions),
    h(
      "div",
      { class: "chart-row" },
      charts.add(timeChart(wordsOverTime(p), { title: "Words over time", unit: "words", kind: "line", width, height: 220 })),
      charts.add(timeChart(activityPerDay(p), { title: "Activity per day", unit: "characters", kind: "bars", width, height: 200 })),
    ),
    membersTable(p.members),
    indicatorsPanel(p),
  );
}

export async function renderProgressPage(ctx: AppContext, id: string): Promise<void> {
  const heading = h("h1", { tabindex: -1 }, "Progress");
  const body = h("div", {}, h("p", { class: "muted", role: "status" }, "Loading progress…"));
  const back = h("a", { href: "#/", class: "back-link" }, icon("back", 16), "Your documents");
  const dashboard = h("a", { href: dashboardHref, class: "back-link" }, icon("chart", 16), "All documents' progress");
  ctx.mount(h("div", { class: "page progress-page" }, h("div", { class: "row" }, back, dashboard), heading, body), heading);
  const charts = new ChartSet();
  ctx.onLeave(() => charts.clear());
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
      charts.clear();
      body.replaceChildren(progressContent(p, charts, sectionActions(ctx, p, () => void load())));
      body.dataset.loaded = String(Date.now());
    } catch (error) {
      if (!ctx.alive()) return;
      const message = error instanceof ApiError && error.status === 404 ? "This document does not exist or you have no access to it." : errorText(error);
      body.replaceChildren(h("p", { class: "alert alert-error", role: "alert" }, message));
    }
  };
  ctx.onLeave(refreshOn(about(id, "progress", "section", "document", "member"), () => void load(), undefined, 250));
  await load();
}
