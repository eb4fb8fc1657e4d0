/**
 * One section's card: its title, lock, status, due date, assignee, who is in it and the host
 * its editor mounts into. Built once per section and updated in place, so an editor is never
 * re-created by a metadata change.
 */

import type { Member, Section, SectionStatus } from "../../api";
import { button, h, uid } from "../../dom";
import { icon } from "../../icons";
import { STATUSES, formatDate } from "../../labels";
import { readOnlyReason, type Capabilities } from "../../permissions";
import type { Present } from "./presence-list";

/** What a card asks of the section list. */
export interface SectionCardActions {
  patch(sectionId: string, patch: { title?: string; status?: SectionStatus; due_date?: string | null; assignee_id?: string | null }): Promise<void>;
  move(sectionId: string, delta: number): void;
  remove(sectionId: string): void;
  /** The current record of the section (the card's copy may be older). */
  current(sectionId: string): Section | undefined;
  focusEditor(sectionId: string): void;
}

export class SectionCard {
  readonly root: HTMLElement;
  readonly titleEl: HTMLInputElement | HTMLHeadingElement;
  readonly up: HTMLButtonElement | null = null;
  readonly down: HTMLButtonElement | null = null;
  /** Where the section's editor mounts. */
  readonly host = h("div", { class: "editor-host" });
  private readonly lock = h("span", { class: "lock-badge" });
  private readonly status: HTMLSelectElement;
  private readonly due: HTMLInputElement;
  private readonly assignee: HTMLSelectElement;
  private readonly remove: HTMLButtonElement | null = null;
  private readonly here = h("div", { class: "here" });

  constructor(section: Section, canStructure: boolean, actions: SectionCardActions) {
    const sid = section.id;
    const titleId = `section-title-${sid}`;
    if (canStructure) {
      const input = h("input", { id: titleId, class: "section-title-input", value: section.title, "aria-label": "Section title", maxlength: 300 });
      const save = async (): Promise<void> => {
        const current = actions.current(sid);
        const title = input.value.trim();
        if (!current || !title || title === current.title) {
          if (current && !title) input.value = current.title;
          return;
        }
        await actions.patch(sid, { title });
      };
      input.addEventListener("change", () => void save());
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") {
          event.preventDefault();
          actions.focusEditor(sid);
        }
      });
      this.titleEl = input;
    } else {
      this.titleEl = h("h2", { id: titleId, class: "section-title" }, section.title);
    }
    this.status = h("select", { id: uid("status"), class: "chip-select status-select" }, ...STATUSES.map((s) => h("option", { value: s.value }, s.label)));
    this.status.addEventListener("change", () => void actions.patch(sid, { status: this.status.value as SectionStatus }));
    this.due = h("input", { id: uid("due"), class: "chip-input", type: "date" });
    this.due.addEventListener("change", () => void actions.patch(sid, { due_date: this.due.value || null }));
    this.assignee = h("select", { id: uid("assignee"), class: "chip-select" });
    this.assignee.addEventListener("change", () => void actions.patch(sid, { assignee_id: this.assignee.value || null }));
    const tools: HTMLElement[] = [];
    if (canStructure) {
      this.up = button(icon("up", 16), { class: "icon-btn", "aria-label": `Move section up` }, () => actions.move(sid, -1));
      this.down = button(icon("down", 16), { class: "icon-btn", "aria-label": `Move section down` }, () => actions.move(sid, 1));
      this.remove = button(icon("trash", 16), { class: "icon-btn danger", "aria-label": `Delete section` }, () => actions.remove(sid));
      tools.push(this.up, this.down, this.remove);
    }
    // Screen readers navigate by headings; an editable title is an input, so name it twice.
    const hiddenHeading = canStructure ? h("h2", { class: "visually-hidden", id: `${titleId}-heading` }, section.title) : null;
    this.root = h(
      "article",
      { class: "section-card", "data-section-id": sid, "aria-labelledby": canStructure ? `${titleId}-heading` : titleId },
      hiddenHeading,
      h(
        "div",
        { class: "section-head" },
        h("div", { class: "section-title-row" }, this.titleEl, this.lock, h("div", { class: "section-tools" }, ...tools)),
        h(
          "div",
          { class: "section-meta" },
          h("label", { class: "meta-field" }, h("span", { class: "meta-label" }, "Status"), this.status),
          h("label", { class: "meta-field" }, h("span", { class: "meta-label" }, "Due"), this.due),
          h("label", { class: "meta-field" }, h("span", { class: "meta-label" }, "Assignee"), this.assignee),
          this.here,
        ),
      ),
      this.host,
    );
  }

  update(section: Section, index: number, total: number, caps: Capabilities, members: Member[], myId: string): void {
    const canMeta = caps.canUpdateSection(section.id);
    const readOnly = readOnlyReason(caps, section.id);
    this.root.dataset.sectionTitle = section.title;
    this.root.classList.toggle("is-readonly", readOnly !== "");
    this.root.dataset.editable = readOnly === "" ? "true" : "false";
    this.lock.hidden = readOnly === "";
    this.lock.replaceChildren(icon("lock", 13), readOnly);
    if (this.titleEl instanceof HTMLInputElement) {
      const hidden = this.root.querySelector<HTMLElement>(`#${CSS.escape(this.titleEl.id)}-heading`);
      if (hidden) hidden.textContent = section.title;
      if (document.activeElement !== this.titleEl) this.titleEl.value = section.title;
      this.titleEl.disabled = !caps.canStructure;
    } else {
      this.titleEl.textContent = section.title;
    }
    this.status.value = section.status;
    this.status.dataset.status = section.status;
    this.status.disabled = !canMeta;
    // Read-only: a plain date (or a dash), not an empty date picker.
    this.due.type = canMeta ? "date" : "text";
    if (document.activeElement !== this.due) this.due.value = canMeta ? (section.due_date ?? "") : section.due_date ? formatDate(section.due_date) : "—";
    this.due.disabled = !canMeta;
    const options = members.filter((m) => m.role === "owner" || m.role === "editor").map((m) => ({ id: m.user.id, name: m.user.name }));
    this.assignee.replaceChildren(
      h("option", { value: "" }, "Unassigned"),
      ...options.map((o) => h("option", { value: o.id }, o.id === myId ? `${o.name} (you)` : o.name)),
    );
    if (section.assignee_id && !options.some((o) => o.id === section.assignee_id)) {
      this.assignee.append(h("option", { value: section.assignee_id }, "A former member"));
    }
    this.assignee.value = section.assignee_id ?? "";
    this.assignee.disabled = !canMeta;
    if (this.up) this.up.disabled = !caps.canStructure || index === 0;
    if (this.down) this.down.disabled = !caps.canStructure || index === total - 1;
    if (this.remove) this.remove.disabled = !caps.canStructure;
  }

  /** The others who are in this section right now. */
  showHere(people: Present[]): void {
    this.here.replaceChildren(
      ...people.map((u) => h("span", { class: "here-chip", style: `--c:${u.color}` }, h("span", { class: "dot", "aria-hidden": "true" }), `${u.name} is here`)),
    );
  }
}
