/**
 * The people offered while an @mention is typed in a comment's textarea (the combobox
 * pattern): a listbox below it, while focus stays in the textarea, which points at the active
 * option with `aria-activedescendant`. Up and down move, Enter or Tab chooses, Escape closes;
 * a click chooses too. Choosing writes `@Name ` in place of what was typed.
 */

import { h, uid } from "../../dom";
import { filterMentionable, insertMention, mentionQuery, type MentionQuery, type Mentionable } from "../../mentions";

const CARET_KEYS = new Set(["ArrowLeft", "ArrowRight", "Home", "End"]);

export class MentionPicker {
  readonly el: HTMLUListElement;
  private shown: Mentionable[] = [];
  private active = 0;
  private at: MentionQuery | null = null;

  /**
   * Attach to `input` before its own keydown listeners: a key the open list uses goes no
   * further. `people` is asked at each keystroke (it may still be loading: none yet).
   */
  constructor(
    private readonly input: HTMLTextAreaElement,
    private readonly people: () => readonly Mentionable[],
    private readonly onPick: (person: Mentionable) => void,
  ) {
    this.el = h("ul", { class: "mention-list", id: uid("mentions"), role: "listbox", "aria-label": "People to mention" });
    this.el.hidden = true;
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-haspopup", "listbox");
    input.setAttribute("aria-controls", this.el.id);
    input.addEventListener("input", () => this.update());
    input.addEventListener("click", () => this.update());
    input.addEventListener("keyup", (event) => CARET_KEYS.has(event.key) && this.update());
    input.addEventListener("keydown", (event) => this.onKey(event));
    input.addEventListener("blur", () => this.close());
  }

  /** Look at what is typed before the caret: open, filter or close the list. */
  update(): void {
    const caret = this.input.selectionStart ?? this.input.value.length;
    this.at = this.input.selectionStart === this.input.selectionEnd ? mentionQuery(this.input.value, caret) : null;
    const shown = this.at ? filterMentionable(this.people(), this.at.query) : [];
    if (!shown.length) {
      this.close();
      return;
    }
    const activeId = this.shown[this.active]?.id;
    this.shown = shown;
    this.active = Math.max(0, shown.findIndex((p) => p.id === activeId));
    this.render();
  }

  private close(): void {
    this.at = null;
    this.shown = [];
    this.el.hidden = true;
    this.el.replaceChildren();
    this.input.removeAttribute("aria-activedescendant");
  }

  private render(): void {
    const options = this.shown.map((person, i) => {
      const option = h(
        "li",
        { id: `${this.el.id}-${i}`, role: "option", class: `mention-option${i === this.active ? " is-active" : ""}`, "aria-selected": String(i === this.active), "data-user-id": person.id },
        h("span", { class: "mention-name" }, person.name),
        h("span", { class: "muted small" }, person.email),
      );
      // Keep the focus (and the caret) in the textarea.
      option.addEventListener("mousedown", (event) => event.preventDefault());
      option.addEventListener("click", () => this.choose(person));
      return option;
    });
    this.el.replaceChildren(...options);
    this.el.hidden = false;
    this.input.setAttribute("aria-activedescendant", options[this.active].id);
    options[this.active].scrollIntoView({ block: "nearest" });
  }

  private onKey(event: KeyboardEvent): void {
    if (this.el.hidden || event.ctrlKey || event.metaKey || event.altKey) return;
    const count = this.shown.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      this.active = (this.active + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
      this.render();
    } else if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") {
      this.choose(this.shown[this.active]);
    } else if (event.key === "Escape") {
      this.close();
    } else {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
  }

  private choose(person: Mentionable): void {
    if (!this.at) return;
    const next = insertMention(this.input.value, this.at, person.name);
    this.close();
    this.input.value = next.text;
    this.input.setSelectionRange(next.caret, next.caret);
    this.input.focus();
    this.onPick(person);
    // Whatever keeps the draft hears of the new text.
    this.input.dispatchEvent(new Event("input", { bubbles: true }));
  }
}
