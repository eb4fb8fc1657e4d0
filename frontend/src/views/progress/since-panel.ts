/** "Since you last looked", and the flags raised now with what each means. */

import type { Progress } from "../../api";
import { h } from "../../dom";
import { formatDateTime } from "../../labels";
import { flagLabel } from "../../progress/flags";
import { sinceLines } from "../../progress/since";

export function sincePanel(p: Progress): HTMLElement {
  const since = p.since_last_visit;
  const lines = since ? sinceLines(since, new Map(p.members.map((m) => [m.user_id, m.name]))) : [];
  return h(
    "section",
    { class: "panel since", id: "progress-since", "aria-labelledby": "since-heading" },
    h("h2", { id: "since-heading" }, "Since you last looked"),
    !since
      ? h("p", { class: "muted" }, "This is your first visit: next time, what moved since now shows here.")
      : h(
          "div",
          {},
          h("p", { class: "muted small" }, `Your previous visit: ${formatDateTime(since.previous_visit_at)}`),
          lines.length ? h("ul", {}, ...lines.map((line) => h("li", {}, line))) : h("p", {}, "Nothing moved."),
        ),
    p.flags.length
      ? h("ul", { class: "plain-list flags", "aria-label": "Flags" }, ...p.flags.map((f) => h("li", {}, h("span", { class: `badge flag flag-${f.flag}` }, flagLabel(f.flag)), ` ${f.explanation}`)))
      : h("p", { class: "muted small" }, "No flags."),
  );
}
