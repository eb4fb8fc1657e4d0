/** "How this became social": the sharing log as a timeline, private period first. */

import { ApiError, getDocument, listSections, sharingLog } from "../api";
import type { AppContext } from "../context";
import { errorText, h } from "../dom";
import { icon } from "../icons";
import { formatDateTime, relativeTime } from "../labels";
import { about, refreshOn } from "../live";
import { docHref } from "../routes";
import { buildTimeline, type TimelineModel, type TimelineStep } from "../timeline";

const OUTCOME_TONE: Record<string, string> = {
  accepted: "ok",
  approved: "ok",
  pending: "warn",
  declined: "muted",
  withdrawn: "muted",
  expired: "muted",
  refused: "muted",
  done: "muted",
};

function stepItem(step: TimelineStep): HTMLElement {
  return h(
    "li",
    { class: `tl-item tl-${step.kind} tl-outcome-${step.outcome}`, "data-kind": step.kind, "data-outcome": step.outcome },
    h("span", { class: "tl-dot", "aria-hidden": "true" }, icon(step.kind === "invitation" ? "mail" : step.kind === "ownership" ? "users" : "share", 14)),
    h(
      "div",
      { class: "tl-card" },
      h("p", { class: "tl-when" }, h("time", { datetime: step.at }, formatDateTime(step.at))),
      h("p", { class: "tl-title" }, step.title),
      step.reasonLabel ? h("p", { class: "tl-why" }, h("span", { class: "muted" }, "Why: "), h("span", { class: "badge badge-reason" }, step.reasonLabel)) : null,
      step.message ? h("blockquote", { class: "tl-message" }, step.message) : null,
      step.outcomeText
        ? h(
            "p",
            { class: `tl-outcome tone-${OUTCOME_TONE[step.outcome] ?? "muted"}` },
            h("span", { class: "badge" }, step.outcomeText),
            step.outcomeAt ? h("span", { class: "muted small" }, ` ${formatDateTime(step.outcomeAt)}`) : null,
          )
        : null,
      step.followUps.length
        ? h(
            "ul",
            { class: "tl-followups", "aria-label": "What happened next" },
            ...step.followUps.map((f) => h("li", { "data-kind": f.kind }, h("span", {}, f.text), h("time", { class: "muted small", datetime: f.at }, ` · ${formatDateTime(f.at)}`))),
          )
        : null,
    ),
  );
}

export function timelineContent(model: TimelineModel): HTMLElement {
  const privateItem = h(
    "li",
    { class: "tl-item tl-private", "data-kind": "private" },
    h("span", { class: "tl-dot", "aria-hidden": "true" }, icon("lock", 14)),
    h(
      "div",
      { class: "tl-card" },
      h("p", { class: "tl-when" }, h("time", { datetime: model.createdAt }, formatDateTime(model.createdAt))),
      h("p", { class: "tl-title" }, `${model.createdBy ?? "The owner"} created the document`),
      h(
        "p",
        { class: "tl-private-text", id: "private-period" },
        model.stillPrivate
          ? `Private so far — for ${model.privateFor}. Nobody else can tell it exists.`
          : `Private for ${model.privateFor}: nobody else could tell it existed until the first invitation.`,
      ),
    ),
  );
  return h(
    "div",
    { class: "timeline-wrap" },
    h(
      "dl",
      { class: "stats" },
      h("div", { class: "stat" }, h("dt", {}, "Private period"), h("dd", {}, model.stillPrivate ? `still private (${model.privateFor})` : model.privateFor)),
      h("div", { class: "stat" }, h("dt", {}, "First need"), h("dd", {}, model.firstNeed ?? "—")),
      h("div", { class: "stat" }, h("dt", {}, "People with access"), h("dd", {}, String(model.members))),
      h("div", { class: "stat" }, h("dt", {}, "Steps"), h("dd", {}, String(model.steps.length))),
    ),
    h("ol", { class: "timeline", id: "timeline", "aria-label": "Sharing timeline" }, privateItem, ...model.steps.map(stepItem)),
  );
}

export async function renderTimelinePage(ctx: AppContext, id: string): Promise<void> {
  const heading = h("h1", { tabindex: -1 }, "How this became social");
  const body = h("div", {}, h("p", { class: "muted", role: "status" }, "Loading the sharing log…"));
  const sub = h("p", { class: "muted" });
  ctx.mount(
    h(
      "div",
      { class: "page timeline-page" },
      h("a", { href: docHref(id), class: "back-link", id: "back-to-document" }, icon("back", 16), "Back to the document"),
      heading,
      sub,
      body,
    ),
    heading,
  );
  const load = async (): Promise<void> => {
    try {
      const [doc, log, sections] = await Promise.all([getDocument(id), sharingLog(id), listSections(id)]);
      if (!ctx.alive()) return;
      document.title = `How “${doc.title}” became social — Widen`;
      sub.textContent = `“${doc.title}” — every step that widened who can see it, with who, why and when. Last change ${relativeTime(log.events.at(-1)?.at ?? doc.created_at)}.`;
      const titles = new Map(sections.map((s) => [s.id, s.title]));
      const positions = new Map(sections.map((s) => [s.id, s.position]));
      body.replaceChildren(
        timelineContent(buildTimeline(log, (sid) => titles.get(sid), (sid) => positions.get(sid) ?? Number.MAX_SAFE_INTEGER)),
      );
    } catch (error) {
      if (!ctx.alive()) return;
      const message = error instanceof ApiError && error.status === 404 ? "This document does not exist or you have no access to it." : errorText(error);
      body.replaceChildren(h("p", { class: "alert alert-error", role: "alert" }, message));
    }
  };
  ctx.onLeave(refreshOn(about(id, "timeline", "section", "document"), () => void load()));
  await load();
}
