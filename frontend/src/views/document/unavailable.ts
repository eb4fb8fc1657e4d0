/**
 * The document page when there is no text to show: the document is unavailable to me, or I
 * follow its progress only.
 */

import { documentProgress } from "../../api";
import type { AppContext } from "../../context";
import { button, errorText, h } from "../../dom";
import { icon } from "../../icons";
import { MESSAGES } from "../../connection";
import { about, refreshOn } from "../../live";
import { ChartSet } from "../../progress/charts";
import { progressContent, sectionActions } from "../progress-view";
import { removeDocument } from "../remove-document";

export function renderUnavailable(ctx: AppContext, message: string): void {
  const heading = h("h1", { tabindex: -1 }, "Document unavailable");
  ctx.mount(
    h(
      "div",
      { class: "page narrow unavailable" },
      h("div", { class: "unavailable-icon", "aria-hidden": "true" }, icon("lock", 28)),
      heading,
      h("p", { class: "alert alert-error", role: "alert", id: "doc-alert" }, message),
      h("p", {}, h("a", { href: "#/", class: "btn" }, icon("back", 16), "Back to your documents")),
    ),
    heading,
  );
}

/** A member who follows progress leaves from here too, then goes home. */
function leaveButton(ctx: AppContext, documentId: string, title: () => string): HTMLButtonElement {
  const leave = button([icon("back", 16), "Leave this document"], { class: "btn btn-ghost", id: "leave-document" }, async () => {
    if (await removeDocument({ id: documentId, title: title(), role: "progress" }, ctx.user, () => (leave.disabled = true))) location.hash = "#/";
    else leave.disabled = false;
  });
  return leave;
}

export async function renderProgressOnly(ctx: AppContext, documentId: string, title: string, notice: string | null): Promise<void> {
  const heading = h("h1", { tabindex: -1, id: "doc-title" }, title);
  const body = h("div", {}, h("p", { class: "muted" }, "Loading progress…"));
  ctx.mount(
    h(
      "div",
      { class: "page" },
      h("a", { href: "#/", class: "back-link" }, icon("back", 16), "Your documents"),
      heading,
      notice ? h("p", { class: "alert alert-info", role: "status", id: "doc-notice" }, notice) : null,
      h("p", { class: "access-line", id: "access-line" }, MESSAGES["progress-only"]),
      leaveButton(ctx, documentId, () => heading.textContent ?? title),
      body,
    ),
    heading,
  );
  const charts = new ChartSet();
  ctx.onLeave(() => charts.clear());
  const load = async (): Promise<void> => {
    try {
      const progress = await documentProgress(documentId);
      if (!ctx.alive()) return;
      heading.textContent = progress.title;
      charts.clear();
      body.replaceChildren(progressContent(progress, charts, sectionActions(ctx, progress, () => void load())));
    } catch (error) {
      if (ctx.alive()) body.replaceChildren(h("p", { class: "alert alert-error", role: "alert" }, errorText(error)));
    }
  };
  // Progress, sections and the title change elsewhere: the live channel says when.
  ctx.onLeave(refreshOn(about(documentId, "progress", "section", "document"), () => void load()));
  await load();
}
