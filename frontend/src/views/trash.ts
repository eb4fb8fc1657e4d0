/**
 * The home page's Trash: documents I deleted, which nobody else can see, each with the day it
 * will be purged for good and a button that brings it back with its members.
 */

import { restoreDocument, type TrashedDocument } from "../api";
import { button, errorText, h, toast } from "../dom";
import { icon } from "../icons";
import { formatDate, relativeTime } from "../labels";

function trashedCard(doc: TrashedDocument, onRestored: () => void): HTMLElement {
  const title = doc.title || "Untitled";
  const restore = button([icon("undo", 16), "Restore"], { class: "btn btn-sm", "aria-label": `Restore “${title}”` }, async () => {
    restore.disabled = true;
    try {
      await restoreDocument(doc.id);
      toast(`“${title}” is back${doc.members ? `, shared with ${doc.members} as before` : ""}.`);
      onRestored();
    } catch (error) {
      toast(errorText(error), "error");
      restore.disabled = false;
    }
  });
  return h(
    "li",
    { class: "doc-card trash-card", "data-document-id": doc.id },
    h("div", { class: "doc-card-icon", "aria-hidden": "true" }, icon("trash", 20)),
    h(
      "div",
      { class: "doc-card-body" },
      h("strong", { class: "trash-title" }, title),
      h(
        "div",
        { class: "doc-card-meta" },
        h("span", { class: "muted small" }, `Deleted ${relativeTime(doc.deleted_at)}`),
        h("span", { class: "muted small purge-date" }, `purged on ${formatDate(doc.purge_at)}`),
      ),
    ),
    h("div", { class: "doc-card-actions" }, restore),
  );
}

export function trashPanel(documents: TrashedDocument[], onRestored: () => void): HTMLElement {
  return h(
    "section",
    { class: "panel trash", id: "trash", "aria-labelledby": "trash-heading" },
    h(
      "div",
      { class: "section-heading" },
      h("h2", { id: "trash-heading" }, icon("trash", 18), "Trash"),
      h("span", { class: "count" }, String(documents.length)),
    ),
    h("p", { class: "muted small section-hint" }, "Deleted documents: nobody else can open them. Restore one, with its members, until it is purged."),
    documents.length
      ? h("ul", { class: "doc-list" }, ...documents.map((d) => trashedCard(d, onRestored)))
      : h("p", { class: "empty" }, "The trash is empty."),
  );
}
