/** The connection badge, and a visible note when the connection is not what one would assume. */

import { describe as describeConnection, type ConnectionModel } from "../../connection";
import { h } from "../../dom";

export class ConnectionStatus {
  readonly badge = h("div", { class: "conn", id: "connection-status", role: "status", "aria-live": "polite", "data-status": "connecting" });
  readonly note = h("p", { class: "conn-note", id: "connection-note" });

  render(model: ConnectionModel): void {
    const badge = describeConnection(model);
    this.badge.dataset.status = model.phase;
    this.badge.dataset.unsent = String(model.unsent);
    this.badge.className = `conn conn-${badge.tone}`;
    this.badge.title = badge.detail;
    this.badge.replaceChildren(
      h("span", { class: "dot", "aria-hidden": "true" }),
      h("span", { class: "conn-label" }, badge.label),
    );
    const explain = model.phase === "offline" || (model.phase === "reconnecting" && model.unsent > 0);
    this.note.textContent = explain ? badge.detail : "";
    this.note.hidden = !explain;
  }
}
