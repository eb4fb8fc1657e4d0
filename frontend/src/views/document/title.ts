/** The document's title with my role, and renaming it in place for whoever may manage it. */

import { renameDocument } from "../../api";
import { button, errorText, h, toast } from "../../dom";
import { icon } from "../../icons";
import { roleLabel } from "../../labels";
import type { DocState } from "./state";

export class TitleRow {
  readonly el = h("div", { class: "title-row" });
  /** Where focus goes when the page opens (and after a rename). */
  readonly heading = h("h1", { id: "doc-title", class: "doc-title", tabindex: -1 });
  private readonly state: DocState;

  constructor(state: DocState) {
    this.state = state;
  }

  render(): void {
    const { info, caps } = this.state;
    this.heading.textContent = info.title;
    const badge = caps.stopped
      ? h("span", { class: "badge badge-danger", id: "role-badge" }, "No longer editing")
      : h("span", { class: `badge badge-role role-${info.role}`, id: "role-badge" }, roleLabel(info.role));
    const children: HTMLElement[] = [this.heading, badge];
    if (caps.canManage) {
      const rename = button(icon("pencil", 15), { class: "icon-btn", "aria-label": "Rename document", title: "Rename" }, () => this.startRename());
      children.splice(1, 0, rename);
    }
    this.el.replaceChildren(...children);
  }

  private startRename(): void {
    const state = this.state;
    const input = h("input", { class: "input title-input", value: state.info.title, "aria-label": "Document title", maxlength: 300 });
    const finish = async (save: boolean): Promise<void> => {
      const title = input.value.trim();
      if (save && title && title !== state.info.title) {
        try {
          state.info = await renameDocument(state.id, title);
          document.title = `${state.info.title} — Widen`;
        } catch (error) {
          toast(`Could not rename: ${errorText(error)}`, "error");
        }
      }
      this.render();
      this.heading.focus();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") void finish(true);
      if (event.key === "Escape") void finish(false);
    });
    input.addEventListener("blur", () => void finish(true), { once: true });
    this.el.replaceChildren(input);
    input.focus();
    input.select();
  }
}
