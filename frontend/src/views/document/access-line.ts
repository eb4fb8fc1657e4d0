/** The line under the title saying what I may do here and, to its manager, who else may. */

import { h } from "../../dom";
import { describeAccess } from "../../permissions";
import type { DocState } from "./state";

export class AccessLine {
  readonly el = h("p", { class: "access-line", id: "access-line" });
  private readonly state: DocState;

  constructor(state: DocState) {
    this.state = state;
  }

  render(): void {
    const { caps, info, members } = this.state;
    if (caps.stopped) {
      this.el.textContent = "Read-only: editing has stopped.";
      return;
    }
    let text = describeAccess(info, (sid) => this.state.sectionTitle(sid));
    if (caps.canManage) {
      const others = members.filter((m) => m.role !== "owner").length;
      text += others === 0 ? " It is private: nobody else can tell it exists." : ` Shared with ${others} ${others === 1 ? "person" : "people"}.`;
    }
    this.el.textContent = text;
  }
}
