/** The honest indicators, each with the server's one-line explanation. */

import type { Progress } from "../../api";
import { h } from "../../dom";

function indicator(name: string, value: string, explanation: string, flagged = false): HTMLElement {
  return h(
    "li",
    { class: `indicator${flagged ? " indicator-flagged" : ""}` },
    h("strong", {}, name),
    h("span", { class: "indicator-value" }, value),
    h("p", { class: "muted small" }, explanation),
  );
}

export function indicatorsPanel(p: Progress): HTMLElement {
  const { concentration, balance, silent_members: silent, follow_through: follow } = p.indicators;
  return h(
    "section",
    { class: "panel indicators", "aria-labelledby": "indicators-heading" },
    h("h2", { id: "indicators-heading" }, "Indicators"),
    h(
      "ul",
      { class: "plain-list" },
      indicator("Concentration", concentration.share === null ? "—" : `${Math.round(concentration.share * 100)}%${concentration.flagged ? " (flagged)" : ""}`, concentration.explanation, concentration.flagged),
      indicator("Balance", balance.gini === null ? "—" : balance.gini.toFixed(2), balance.explanation),
      indicator(
        "Silent members",
        String(silent.length),
        silent.length ? silent.map((s) => `${s.name}: ${s.explanation}`).join("; ") : "Everyone invited to write or review has done so since joining.",
        silent.length > 0,
      ),
      ...follow.map((f) => indicator(`Follow-through: ${f.name}`, f.followed_through ? "yes" : "not yet", f.explanation, !f.followed_through)),
    ),
  );
}
