/**
 * The formatting toolbar: text style, marks, lists, undo and redo for the focused section, and
 * Comment / Suggest on the selected text. It follows the focused editor and my capabilities.
 */

import { h } from "../../dom";
import { icon } from "../../icons";
import { SectionEditor, commands } from "../../editor/section-editor";
import { schema } from "../../editor/schema";
import { toggleLink } from "./link-dialog";
import type { SectionList } from "./sections";
import type { DocState } from "./state";

/** What the toolbar asks of the comments panel. */
export interface ToolbarHooks {
  startComposer(mode: "comment" | "suggest"): void;
  hasSelection(): boolean;
}

export class Toolbar {
  readonly el = h("div", { class: "toolbar", role: "toolbar", "aria-label": "Formatting", "aria-controls": "sections" });
  private readonly buttons: { el: HTMLButtonElement; update: () => void }[] = [];
  private readonly blockSelect: HTMLSelectElement;
  private readonly state: DocState;
  private readonly sections: SectionList;

  constructor(state: DocState, sections: SectionList, hooks: ToolbarHooks) {
    this.state = state;
    this.sections = sections;
    const active = (): SectionEditor | null => sections.writableEditor();
    const mk = (label: string, content: Node | string, run: () => void, isOn?: (e: SectionEditor) => boolean, enabled?: () => boolean): HTMLButtonElement => {
      const el = h("button", { type: "button", class: "tb-btn", "aria-label": label, title: label }, content);
      if (isOn) el.setAttribute("aria-pressed", "false");
      el.addEventListener("mousedown", (event) => event.preventDefault()); // keep the editor's selection
      el.addEventListener("click", run);
      this.buttons.push({
        el,
        update: () => {
          const editor = active();
          el.disabled = enabled ? !enabled() : !editor;
          if (isOn) el.setAttribute("aria-pressed", String(!!editor && isOn(editor)));
        },
      });
      return el;
    };
    const runCmd = (cmd: Parameters<SectionEditor["run"]>[0]) => () => active()?.run(cmd);
    const glyph = (text: string, cls: string): HTMLElement => h("span", { class: `glyph ${cls}`, "aria-hidden": "true" }, text);

    const block = h(
      "select",
      { class: "tb-select", "aria-label": "Text style", id: "block-style" },
      h("option", { value: "p" }, "Paragraph"),
      h("option", { value: "h1" }, "Heading 1"),
      h("option", { value: "h2" }, "Heading 2"),
      h("option", { value: "h3" }, "Heading 3"),
      h("option", { value: "code" }, "Code block"),
    );
    block.addEventListener("change", () => {
      const editor = active();
      if (!editor) return;
      const v = block.value;
      editor.run(v === "p" ? commands.paragraph : v === "code" ? commands.codeBlock : commands.heading(Number(v.slice(1))));
    });
    this.blockSelect = block;

    const canComment = (): boolean => this.state.caps.canComment && hooks.hasSelection();
    const formatting = h(
      "div",
      { class: "tb-group", id: "format-tools" },
      block,
      h("span", { class: "tb-sep", "aria-hidden": "true" }),
      mk("Bold (Ctrl+B)", glyph("B", "g-bold"), runCmd(commands.bold), (e) => e.isMarkActive(schema.marks.strong)),
      mk("Italic (Ctrl+I)", glyph("I", "g-italic"), runCmd(commands.italic), (e) => e.isMarkActive(schema.marks.em)),
      mk("Inline code", icon("code", 17), runCmd(commands.code), (e) => e.isMarkActive(schema.marks.code)),
      mk("Link", icon("link", 17), () => toggleLink(sections.activeEditor), (e) => e.isMarkActive(schema.marks.link)),
      h("span", { class: "tb-sep", "aria-hidden": "true" }),
      mk("Bulleted list", icon("list", 17), runCmd(commands.bulletList)),
      mk("Numbered list", icon("ordered", 17), runCmd(commands.orderedList)),
      mk("Quote", icon("quote", 17), runCmd(commands.quote)),
      h("span", { class: "tb-sep", "aria-hidden": "true" }),
      mk("Undo my last edit (Ctrl+Z)", icon("undo", 17), runCmd(commands.undo), undefined, () => !!active() && active()!.can(commands.undo)),
      mk("Redo (Ctrl+Shift+Z)", icon("redo", 17), runCmd(commands.redo), undefined, () => !!active() && active()!.can(commands.redo)),
    );
    const commenting = h(
      "div",
      { class: "tb-group tb-comment" },
      mk("Comment on the selected text (Ctrl+Alt+M)", h("span", { class: "tb-label" }, icon("comment", 16), "Comment"), () => hooks.startComposer("comment"), undefined, canComment),
      mk("Suggest a replacement for the selected text", h("span", { class: "tb-label" }, icon("pencil", 16), "Suggest"), () => hooks.startComposer("suggest"), undefined, canComment),
    );
    this.el.replaceChildren(formatting, commenting);
    // Arrow keys move between the toolbar's controls (they stay reachable with Tab too).
    this.el.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
      if (event.target instanceof HTMLSelectElement) return;
      const controls = [...this.el.querySelectorAll<HTMLElement>("button, select")].filter(
        (el) => !(el as HTMLButtonElement).disabled && el.offsetParent !== null,
      );
      const at = controls.indexOf(document.activeElement as HTMLElement);
      if (at < 0) return;
      event.preventDefault();
      controls[(at + (event.key === "ArrowRight" ? 1 : controls.length - 1)) % controls.length].focus();
    });
  }

  update(): void {
    const { caps } = this.state;
    if (!caps) return;
    const anyEditable = this.state.sections.some((s) => caps.canEditSection(s.id));
    const formatGroup = this.el.querySelector<HTMLElement>("#format-tools");
    if (formatGroup) formatGroup.hidden = !anyEditable;
    const commentGroup = this.el.querySelector<HTMLElement>(".tb-comment");
    if (commentGroup) commentGroup.hidden = !caps.canComment;
    this.el.hidden = !anyEditable && !caps.canComment;
    for (const b of this.buttons) b.update();
    const editor = this.sections.writableEditor();
    this.blockSelect.disabled = !editor;
    if (editor) {
      const n = schema.nodes;
      const level = [1, 2, 3].find((l) => editor.isBlockActive(n.heading, { level: l }));
      this.blockSelect.value = editor.isBlockActive(n.code_block) ? "code" : level ? `h${level}` : "p";
    }
  }
}
