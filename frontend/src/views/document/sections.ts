/**
 * The sections of the document: a card per section with its editor (bound to the session's
 * Y.Doc), and adding, renaming, reordering, deleting and updating sections through the API.
 */

import { createSection, deleteSection, reorderSections, updateSection } from "../../api";
import { button, errorText, h, toast } from "../../dom";
import { icon } from "../../icons";
import { sectionRoot } from "../../permissions";
import { SectionEditor, type Highlight } from "../../editor/section-editor";
import { SectionCard } from "./section-card";
import type { Present } from "./presence-list";
import type { DocState } from "./state";

/** What the section list asks of the rest of the page. */
export interface SectionListHooks {
  /** The comment highlights to draw in a section's editor. */
  highlightsFor(sectionId: string, editor: SectionEditor): Highlight[];
  onHighlightClick(commentId: string): void;
  /** The focused editor or its selection changed (the toolbar follows it). */
  onActiveEditor(): void;
  /** I changed section metadata: the others should re-read it. */
  onMetadataChanged(): void;
  /** The list was drawn again (what depends on section titles follows). */
  onRendered(): void;
}

export class SectionList {
  readonly el = h("div", { class: "sections", id: "sections" });
  readonly addRow = h("div", { class: "add-section" });
  readonly editors = new Map<string, SectionEditor>();
  /** The editor that last had focus. */
  activeEditor: SectionEditor | null = null;
  private readonly cards = new Map<string, SectionCard>();
  private readonly state: DocState;
  private readonly hooks: SectionListHooks;
  /** Section changes go out one at a time, so a slower answer never undoes a newer change. */
  private patchQueue: Promise<void> = Promise.resolve();

  constructor(state: DocState, hooks: SectionListHooks) {
    this.state = state;
    this.hooks = hooks;
  }

  /** The editor that has focus, if I may write in it. */
  writableEditor(): SectionEditor | null {
    return this.activeEditor && this.activeEditor.editable ? this.activeEditor : null;
  }

  render(): void {
    const { state } = this;
    const ordered = state.ordered();
    const keep = new Set(ordered.map((s) => s.id));
    for (const [sid, card] of this.cards) {
      if (!keep.has(sid)) {
        this.editors.get(sid)?.destroy();
        this.editors.delete(sid);
        card.root.remove();
        this.cards.delete(sid);
      }
    }
    ordered.forEach((section, index) => {
      let card = this.cards.get(section.id);
      if (!card) {
        card = new SectionCard(section, state.caps.canStructure, this.cardActions);
        this.cards.set(section.id, card);
      }
      card.update(section, index, ordered.length, state.caps, state.members, state.ctx.user.id);
      this.editors.get(section.id)?.refreshEditable(`Text of section “${section.title}”`);
      // Keep DOM order without re-creating editors.
      const at = this.el.children[index];
      if (at !== card.root) this.el.insertBefore(card.root, at ?? null);
    });
    this.ensureEditors();
    if (ordered.length === 0) {
      if (!this.el.querySelector(".empty")) {
        this.el.append(
          h("p", { class: "empty sections-empty" }, state.caps.canStructure ? "This document has no sections yet. Add the first one below." : "This document has no sections yet."),
        );
      }
    } else {
      this.el.querySelector(".sections-empty")?.remove();
    }
    this.hooks.onRendered();
  }

  /** Bind an editor to every section that has a card and none yet (after a new session). */
  ensureEditors(): void {
    const session = this.state.session;
    if (!session) return;
    for (const section of this.state.sections) {
      const card = this.cards.get(section.id);
      if (!card || this.editors.has(section.id)) continue;
      const editor = new SectionEditor({
        mount: card.host,
        fragment: session.ydoc.getXmlFragment(sectionRoot(section.id)),
        awareness: session.awareness,
        label: `Text of section “${section.title}”`,
        editable: () => !this.state.destroyed && this.state.caps.canEditSection(section.id) && !!this.state.session?.model.everSynced,
        highlights: (ed) => this.hooks.highlightsFor(section.id, ed),
        onFocus: (ed) => {
          this.activeEditor = ed;
          session.awareness.setLocalStateField("section", section.id);
          this.hooks.onActiveEditor();
        },
        onSelection: (ed) => {
          if (ed.view.hasFocus()) this.activeEditor = ed;
          this.hooks.onActiveEditor();
        },
        onHighlightClick: (commentId) => this.hooks.onHighlightClick(commentId),
      });
      editor.view.dom.dataset.sectionId = section.id;
      editor.view.dom.addEventListener("blur", () => {
        // Leave the "who is where" hint once focus is outside every section.
        setTimeout(() => {
          if (!this.el.contains(document.activeElement) || !document.activeElement?.closest(".ProseMirror")) {
            this.state.session?.awareness.setLocalStateField("section", null);
          }
        }, 0);
      });
      this.editors.set(section.id, editor);
    }
  }

  destroyEditors(): void {
    for (const editor of this.editors.values()) editor.destroy();
    this.editors.clear();
    for (const card of this.cards.values()) card.host.replaceChildren();
    this.activeEditor = null;
  }

  refreshEditable(): void {
    for (const editor of this.editors.values()) editor.refreshEditable();
  }

  /** Show, on each card, the others who are in that section. */
  showWhoIsHere(people: Present[]): void {
    for (const [sectionId, card] of this.cards) card.showHere(people.filter((u) => !u.me && u.section === sectionId));
  }

  renderAddRow(): void {
    if (!this.state.caps.canStructure) {
      this.addRow.replaceChildren();
      return;
    }
    const add = button([icon("plus", 16), "Add section"], { class: "btn btn-dashed", id: "add-section" }, async () => {
      add.disabled = true;
      try {
        const created = await createSection(this.state.id, "Untitled section");
        this.state.sections.push(created);
        this.hooks.onMetadataChanged();
        this.render();
        const card = this.cards.get(created.id);
        if (card?.titleEl instanceof HTMLInputElement) {
          card.titleEl.focus();
          card.titleEl.select();
        }
      } catch (error) {
        toast(`Could not add a section: ${errorText(error)}`, "error");
      } finally {
        add.disabled = false;
      }
    });
    this.addRow.replaceChildren(add);
  }

  private readonly cardActions = {
    patch: (sid: string, patch: Parameters<typeof updateSection>[2]) => this.patch(sid, patch),
    move: (sid: string, delta: number) => void this.move(sid, delta),
    remove: (sid: string) => void this.remove(sid),
    current: (sid: string) => this.state.sections.find((s) => s.id === sid),
    focusEditor: (sid: string) => this.editors.get(sid)?.view.focus(),
  };

  private patch(sid: string, patch: Parameters<typeof updateSection>[2]): Promise<void> {
    const run = async (): Promise<void> => {
      const current = this.state.sections.find((s) => s.id === sid);
      if (!current || this.state.destroyed) return;
      try {
        const updated = await updateSection(this.state.id, sid, patch);
        for (const key of Object.keys(patch) as (keyof typeof patch)[]) {
          (current as unknown as Record<string, unknown>)[key] = updated[key];
        }
        current.updated_at = updated.updated_at;
        this.hooks.onMetadataChanged();
      } catch (error) {
        toast(`Could not update the section: ${errorText(error)}`, "error");
      }
      if (!this.state.destroyed) this.render();
    };
    this.patchQueue = this.patchQueue.then(run, run);
    return this.patchQueue;
  }

  private async move(sid: string, delta: number): Promise<void> {
    const ordered = this.state.ordered().map((s) => s.id);
    const from = ordered.indexOf(sid);
    const to = from + delta;
    if (from < 0 || to < 0 || to >= ordered.length) return;
    ordered.splice(to, 0, ...ordered.splice(from, 1));
    try {
      this.state.sections = await reorderSections(this.state.id, ordered);
      this.hooks.onMetadataChanged();
    } catch (error) {
      toast(`Could not reorder: ${errorText(error)}`, "error");
    }
    this.render();
    const card = this.cards.get(sid);
    (delta < 0 ? card?.up : card?.down)?.focus();
    if (document.activeElement === document.body) (delta < 0 ? card?.down : card?.up)?.focus();
  }

  private async remove(sid: string): Promise<void> {
    const section = this.state.sections.find((s) => s.id === sid);
    if (!section) return;
    if (!window.confirm(`Delete the section “${section.title}”? Its text goes with it.`)) return;
    try {
      await deleteSection(this.state.id, sid);
      this.state.sections = this.state.sections.filter((s) => s.id !== sid);
      this.hooks.onMetadataChanged();
      this.render();
      toast(`Section “${section.title}” deleted.`);
    } catch (error) {
      toast(`Could not delete: ${errorText(error)}`, "error");
    }
  }
}
