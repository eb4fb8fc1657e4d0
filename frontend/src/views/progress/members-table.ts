/** Who wrote what: characters written and deleted, share of the current text, last active. */

import type { Progress } from "../../api";
import { h } from "../../dom";
import { relativeTime, roleLabel } from "../../labels";

const col = (text: string, cls = ""): HTMLElement => h("th", { scope: "col", class: cls }, text);

export function membersTable(members: Progress["members"]): HTMLElement {
  if (!members.length) return h("p", { class: "empty" }, "No members have written yet.");
  return h(
    "table",
    { class: "table", id: "progress-members" },
    h("caption", {}, "Who wrote what (characters)"),
    h("thead", {}, h("tr", {}, col("Member"), col("Role"), col("Written", "num"), col("Deleted", "num"), col("In the text now", "num"), col("Share", "num"), col("Last active"))),
    h(
      "tbody",
      {},
      ...members.map((m) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, m.name),
          h("td", {}, m.role ? roleLabel(m.role) : "former member"),
          h("td", { class: "num" }, String(m.chars_inserted)),
          h("td", { class: "num" }, String(m.chars_deleted)),
          h("td", { class: "num" }, m.chars_current === null ? "—" : String(m.chars_current)),
          h("td", { class: "num" }, m.share === null ? "—" : `${Math.round(m.share * 100)}%`),
          h("td", {}, m.last_active ? relativeTime(m.last_active) : "never"),
        ),
      ),
    ),
  );
}
