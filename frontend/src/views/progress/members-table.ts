/** Who wrote what: words added and removed (characters beside them), share of the current text,
 * last active. */

import type { Progress } from "../../api";
import { h } from "../../dom";
import { relativeTime, roleLabel } from "../../labels";
import { type WordFigure, wordsAdded, wordsRemoved } from "../../progress/members";

const col = (text: string, cls = ""): HTMLElement => h("th", { scope: "col", class: cls }, text);

const figureCell = (f: WordFigure): HTMLElement =>
  h("td", { class: "num", title: f.chars }, f.words, h("br"), h("span", { class: "muted" }, f.chars));

export function membersTable(members: Progress["members"]): HTMLElement {
  if (!members.length) return h("p", { class: "empty" }, "No members have written yet.");
  return h(
    "table",
    { class: "table", id: "progress-members" },
    h("caption", {}, "Who wrote what (words, counted since Widen began counting them; characters below)"),
    h(
      "thead",
      {},
      h("tr", {}, col("Member"), col("Role"), col("Words added", "num"), col("Words removed", "num"), col("Characters in the text now", "num"), col("Share", "num"), col("Last active")),
    ),
    h(
      "tbody",
      {},
      ...members.map((m) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, m.name),
          h("td", {}, m.role ? roleLabel(m.role) : "former member"),
          figureCell(wordsAdded(m)),
          figureCell(wordsRemoved(m)),
          h("td", { class: "num" }, m.chars_current === null ? "—" : String(m.chars_current)),
          h("td", { class: "num" }, m.share === null ? "—" : `${Math.round(m.share * 100)}%`),
          h("td", {}, m.last_active ? relativeTime(m.last_active) : "never"),
        ),
      ),
    ),
  );
}
