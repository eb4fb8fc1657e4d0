/** The document's actions in its header: share (for its manager), export (for whoever reads
 *  the text), history (the owner and editors), timeline, progress, and
 *  moving it to the trash (its owner) or leaving it (a member), which goes home. */

import { button, h } from "../../dom";
import { icon } from "../../icons";
import { progressHref, timelineHref } from "../../routes";
import { removeDocument } from "../remove-document";
import { openShareDialog } from "../share";
import { exportMenu } from "./export-menu";
import { openHistoryPanel } from "./history-panel";
import type { DocState } from "./state";

export class DocActions {
  readonly el = h("div", { class: "doc-actions" });
  private readonly state: DocState;
  /** Called after the share dialog changed members or invitations. */
  private readonly onMembersChanged: () => void;

  /** Made once, so a re-render never drops an export in progress or its message. */
  private readonly exportMenu: HTMLElement;

  constructor(state: DocState, onMembersChanged: () => void) {
    this.state = state;
    this.onMembersChanged = onMembersChanged;
    this.exportMenu = exportMenu(state.id);
  }

  render(): void {
    const { caps, id } = this.state;
    const items: HTMLElement[] = [];
    if (caps.canManage) {
      items.push(
        button([icon("share", 16), "Share"], { class: "btn btn-primary", id: "share-button" }, () =>
          openShareDialog({
            documentId: id,
            title: this.state.info.title,
            sections: this.state.sections,
            onChanged: () => this.onMembersChanged(),
          }),
        ),
      );
    }
    if (!caps.stopped && caps.seesText) items.push(this.exportMenu);
    if (caps.canOpenHistory) {
      items.push(button([icon("clock", 16), "History"], { class: "btn", id: "history-button", title: "Versions of the text" }, () => openHistoryPanel(this.state)));
    }
    if (!caps.stopped) {
      items.push(
        h("a", { href: timelineHref(id), class: "btn", id: "timeline-link", title: "How this document became social" }, icon("clock", 16), "Timeline"),
        h("a", { href: progressHref(id), class: "btn btn-ghost", id: "progress-link" }, icon("chart", 16), "Progress"),
        this.removeButton(),
      );
    }
    this.el.replaceChildren(...items);
  }

  private removeButton(): HTMLButtonElement {
    const { state } = this;
    const owner = state.info.role === "owner";
    const label = owner ? "Move to trash" : "Leave this document";
    const remove = button(icon(owner ? "trash" : "back", 18), { class: "icon-btn danger", id: owner ? "trash-document" : "leave-document", "aria-label": label, title: label }, async () => {
      const gone = await removeDocument(state.info, state.ctx.user, () => {
        remove.disabled = true;
        state.leaving = true;
      });
      if (gone) {
        location.hash = "#/";
        return;
      }
      remove.disabled = false;
      state.leaving = false;
    });
    return remove;
  }
}
