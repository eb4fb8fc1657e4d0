/** The manager's dashboard (`#/progress`): every document I may see progress of, sortable and
 * filterable, with a small chart of its words per row. Numbers from `GET /api/progress`. */

import { allProgress, changeDigest, digestChoices, includeInDigest, type DigestChoices, type DigestFrequency, type ProgressSummary } from "../api";
import type { AppContext } from "../context";
import { errorText, h } from "../dom";
import { icon } from "../icons";
import { formatDate, relativeTime, roleLabel, statusLabel } from "../labels";
import { refreshOn } from "../live";
import { ChartSet, sparkline } from "../progress/charts";
import { filterRows, sortRows, type Direction, type Filter, type SortKey } from "../progress/dashboard-rows";
import { flagLabel } from "../progress/flags";
import { describeChart, trendChange } from "../progress/series";
import { progressHref } from "../routes";

const COLUMNS: { key: SortKey | null; label: string; num?: boolean }[] = [
  { key: "title", label: "Document" },
  { key: null, label: "Sections" },
  { key: "done", label: "Done", num: true },
  { key: "words", label: "Words", num: true },
  { key: "trend", label: "Last 14 days" },
  { key: "next_due", label: "Next due" },
  { key: "late", label: "Late", num: true },
  { key: "stalled", label: "Stalled", num: true },
  { key: "flags", label: "Flags" },
  { key: "last_edit", label: "Last edit" },
  { key: null, label: "In digest" },
];

const FREQUENCIES: { value: DigestFrequency; label: string }[] = [
  { value: "off", label: "Off" },
  { value: "daily", label: "Daily" },
  { value: "weekly", label: "Weekly" },
];

const EVENTS = new Set(["progress", "section", "document", "member"]);

/** The trend's days, oldest first, ending today (UTC, as the server counts days). */
function trendDays(count: number, now = new Date()): string[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Array.from({ length: count }, (_, i) => new Date(today - (count - 1 - i) * 86_400_000).toISOString().slice(0, 10));
}

function statusSummary(r: ProgressSummary): string {
  const parts = Object.entries(r.status_counts)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${statusLabel(status).toLocaleLowerCase()}`);
  return parts.length ? parts.join(" · ") : "no sections";
}

/** The row's "in my digest" box: leaving a document out is one click, told to the server at once. */
function digestBox(r: ProgressSummary, digest: DigestChoices, failed: (error: unknown) => void): HTMLElement {
  const box = h("input", { type: "checkbox", class: "digest-include", "aria-label": `“${r.title}” in my progress digest` }) as HTMLInputElement;
  box.checked = !digest.left_out.includes(r.document_id);
  box.addEventListener("change", () => {
    includeInDigest(r.document_id, box.checked).then((next) => (digest.left_out = next.left_out), (error: unknown) => {
      box.checked = !box.checked;
      failed(error);
    });
  });
  return box;
}

function row(r: ProgressSummary, charts: ChartSet, digest: HTMLElement): HTMLElement {
  const days = trendDays(r.trend.length);
  const change = trendChange(r.trend);
  const chartLabel = describeChart(`Words of “${r.title}” over the last ${r.trend.length} days`, { days, series: [{ label: "Words", values: r.trend }] }, "words");
  const dash = (): HTMLElement => h("span", { class: "muted" }, "—");
  return h(
    "tr",
    { "data-document-id": r.document_id },
    h("th", { scope: "row" }, h("a", { href: progressHref(r.document_id) }, r.title || "Untitled"), h("span", { class: "muted small" }, ` ${roleLabel(r.role)}`)),
    h("td", { class: "small" }, statusSummary(r)),
    h("td", { class: "num" }, `${r.sections_done}/${r.sections_total}`),
    h("td", { class: "num dash-words" }, r.words_total === null ? dash() : String(r.words_total)),
    h("td", { class: "trend" }, charts.add(sparkline(days, r.trend, chartLabel)), change === null || change === 0 ? "" : h("span", { class: "small" }, ` ${change > 0 ? "+" : "−"}${Math.abs(change)}`)),
    h("td", {}, r.next_due ? formatDate(r.next_due) : dash()),
    h("td", { class: `num${r.late ? " overdue" : ""}` }, String(r.late)),
    h("td", { class: "num" }, String(r.stalled)),
    h("td", {}, ...r.flags.map((f) => h("span", { class: `badge flag flag-${f.flag}`, title: f.explanation }, flagLabel(f.flag)))),
    h("td", {}, r.last_edit_at ? relativeTime(r.last_edit_at) : dash()),
    h("td", {}, digest),
  );
}

export async function renderDashboard(ctx: AppContext): Promise<void> {
  document.title = "Progress of all documents — Widen";
  const heading = h("h1", { tabindex: -1 }, "Progress of all documents");
  const text = h("input", { type: "search", id: "dashboard-filter", class: "input", placeholder: "Filter by title", "aria-label": "Filter by title" });
  const flagged = h("input", { type: "checkbox", id: "dashboard-flagged" });
  const frequency = h("select", { id: "digest-frequency", class: "input input-sm" }, ...FREQUENCIES.map((f) => h("option", { value: f.value }, f.label))) as HTMLSelectElement;
  const digestStatus = h("span", { class: "small", role: "status" });
  const controls = h(
    "div",
    { class: "row dashboard-controls" },
    text,
    h("label", { for: "dashboard-flagged" }, flagged, " Flagged only"),
    h("label", { for: "digest-frequency" }, "Progress digest by mail ", frequency),
    digestStatus,
  );
  let digest: DigestChoices = { frequency: "off", left_out: [] };
  const digestFailed = (error: unknown): void => {
    digestStatus.textContent = errorText(error);
  };
  frequency.addEventListener("change", () => {
    const wanted = frequency.value as DigestFrequency;
    changeDigest(wanted).then(
      (next) => {
        digest = next;
        digestStatus.textContent = next.frequency === "off" ? "No digest." : `A ${next.frequency} digest of what moved, numbers and titles only.`;
      },
      (error: unknown) => {
        frequency.value = digest.frequency;
        digestFailed(error);
      },
    );
  });
  const body = h("div", {}, h("p", { class: "muted", role: "status" }, "Loading progress…"));
  const back = h("a", { href: "#/", class: "back-link" }, icon("back", 16), "Your documents");
  ctx.mount(h("div", { class: "page progress-page dashboard" }, back, heading, controls, body), heading);

  const charts = new ChartSet();
  ctx.onLeave(() => charts.clear());
  let rows: ProgressSummary[] = [];
  let sort: SortKey = "title";
  let direction: Direction = "asc";

  const header = (c: (typeof COLUMNS)[number]): HTMLElement => {
    if (c.key === null) return h("th", { scope: "col" }, c.label);
    const key = c.key;
    const active = key === sort;
    const toggle = h("button", { type: "button", class: "sort-btn", "data-sort": key }, c.label, active ? (direction === "asc" ? " ▲" : " ▼") : "");
    toggle.addEventListener("click", () => {
      direction = active && direction === "asc" ? "desc" : "asc";
      sort = key;
      draw();
    });
    return h("th", { scope: "col", class: c.num ? "num" : "", "aria-sort": active ? (direction === "asc" ? "ascending" : "descending") : "none" }, toggle);
  };

  const draw = (): void => {
    charts.clear();
    const filter: Filter = { text: text.value, flaggedOnly: flagged.checked };
    const shown = sortRows(filterRows(rows, filter), sort, direction);
    body.replaceChildren(
      rows.length === 0
        ? h("p", { class: "empty" }, "No documents yet.")
        : h(
            "table",
            { class: "table", id: "dashboard" },
            h("caption", {}, `${shown.length} of ${rows.length} documents`),
            h("thead", {}, h("tr", {}, ...COLUMNS.map(header))),
            h("tbody", {}, ...shown.map((r) => row(r, charts, digestBox(r, digest, digestFailed)))),
          ),
    );
  };
  text.addEventListener("input", draw);
  flagged.addEventListener("change", draw);

  const load = async (): Promise<void> => {
    try {
      const [list, choices] = await Promise.all([allProgress(), digestChoices()]);
      if (!ctx.alive()) return;
      rows = list;
      digest = choices;
      frequency.value = choices.frequency;
      draw();
      body.dataset.loaded = String(Date.now());
    } catch (error) {
      if (ctx.alive()) body.replaceChildren(h("p", { class: "alert alert-error", role: "alert" }, errorText(error)));
    }
  };
  ctx.onLeave(refreshOn((event) => EVENTS.has(event.type), () => void load(), undefined, 250));
  await load();
}
