/**
 * One section's rich-text editor: a ProseMirror view bound to the Y.Doc root `section:<id>`
 * (a Y.XmlFragment) through y-prosemirror, with remote cursors from the document's one
 * awareness, an undo manager that undoes only this user's edits, and comment highlights.
 */

import { findRootTypeKey } from "yjs";
import type * as Y from "yjs";
import type { Awareness } from "y-protocols/awareness";
import { EditorState, Plugin, PluginKey, type Command, type Transaction } from "prosemirror-state";
import { Decoration, DecorationSet, EditorView } from "prosemirror-view";
import { keymap } from "prosemirror-keymap";
import { baseKeymap, chainCommands, exitCode, setBlockType, toggleMark, wrapIn } from "prosemirror-commands";
import { liftListItem, sinkListItem, splitListItem, wrapInList } from "prosemirror-schema-list";
import {
  InputRule,
  inputRules,
  textblockTypeInputRule,
  wrappingInputRule,
  smartQuotes,
  ellipsis,
  emDash,
} from "prosemirror-inputrules";
import type { MarkType, NodeType } from "prosemirror-model";
import { redoCommand as yRedoCommand, undoCommand as yUndoCommand, ySyncPlugin, ySyncPluginKey, yCursorPlugin, yUndoPlugin } from "y-prosemirror";
import { schema } from "./schema";
import type { PmMapping } from "../comments";
import { isDrawableCursorState, remoteUser } from "../presence";

export interface Highlight {
  id: string;
  from: number;
  to: number;
  active: boolean;
  suggestion: boolean;
}

export interface SectionEditorOptions {
  mount: HTMLElement;
  fragment: Y.XmlFragment;
  awareness: Awareness;
  label: string;
  /** Asked on every render: may this user change the text now? */
  editable: () => boolean;
  /** The comment ranges to highlight in this section, asked when refreshHighlights() runs. */
  highlights: (editor: SectionEditor) => Highlight[];
  onFocus?: (editor: SectionEditor) => void;
  onSelection?: (editor: SectionEditor) => void;
  onHighlightClick?: (commentId: string) => void;
}

const highlightKey = new PluginKey<DecorationSet>("widen-comments");

// Remote carets and selections draw only what src/presence.ts lets through: each awareness
// state is another member's to write (see there why the colour and the name are checked).

function cursorBuilder(user: unknown, clientId: number): HTMLElement {
  const who = remoteUser(user, clientId);
  // The name is drawn by CSS from data-name, so it never becomes part of the text
  // (copying, textContent, screen readers reading the section).
  const caret = document.createElement("span");
  caret.className = "remote-caret";
  caret.style.setProperty("--c", who.color);
  caret.dataset.name = who.name;
  caret.setAttribute("aria-hidden", "true");
  return caret;
}

function selectionBuilder(user: unknown, clientId: number): { style: string; class: string } {
  return { style: `background-color: ${remoteUser(user, clientId).color}33`, class: "remote-selection" };
}

function markInputRule(pattern: RegExp, type: MarkType): InputRule {
  return new InputRule(pattern, (state, match, start, end) => {
    const text = match[1];
    const tr = state.tr.replaceWith(start, end, schema.text(text, [type.create()]));
    return tr.removeStoredMark(type);
  });
}

function buildInputRules(): Plugin {
  const n = schema.nodes;
  return inputRules({
    rules: [
      ...smartQuotes,
      ellipsis,
      emDash,
      wrappingInputRule(/^\s*>\s$/, n.blockquote),
      wrappingInputRule(/^(\d+)\.\s$/, n.ordered_list, (m) => ({ order: +m[1] }), (m, node) => node.childCount + node.attrs.order === +m[1]),
      wrappingInputRule(/^\s*([-+*])\s$/, n.bullet_list),
      textblockTypeInputRule(/^```$/, n.code_block),
      textblockTypeInputRule(/^(#{1,3})\s$/, n.heading, (m) => ({ level: m[1].length })),
      markInputRule(/\*\*([^*]+)\*\*$/, schema.marks.strong),
      markInputRule(/`([^`]+)`$/, schema.marks.code),
    ],
  });
}

// With no `dispatch` these only ask whether there is something to undo / redo.
const undoCommand: Command = yUndoCommand;
const redoCommand: Command = yRedoCommand;

function buildKeymap(): Record<string, Command> {
  const n = schema.nodes;
  const m = schema.marks;
  const hardBreak: Command = chainCommands(exitCode, (state, dispatch) => {
    dispatch?.(state.tr.replaceSelectionWith(n.hard_break.create()).scrollIntoView());
    return true;
  });
  return {
    "Mod-z": undoCommand,
    "Mod-y": redoCommand,
    "Shift-Mod-z": redoCommand,
    "Mod-b": toggleMark(m.strong),
    "Mod-i": toggleMark(m.em),
    "Mod-`": toggleMark(m.code),
    "Shift-Enter": hardBreak,
    "Mod-Enter": hardBreak,
    Enter: splitListItem(n.list_item),
    "Mod-[": liftListItem(n.list_item),
    "Mod-]": sinkListItem(n.list_item),
    "Shift-Ctrl-0": setBlockType(n.paragraph),
    "Shift-Ctrl-1": setBlockType(n.heading, { level: 1 }),
    "Shift-Ctrl-2": setBlockType(n.heading, { level: 2 }),
    "Shift-Ctrl-3": setBlockType(n.heading, { level: 3 }),
    "Shift-Ctrl-8": wrapInList(n.bullet_list),
    "Shift-Ctrl-9": wrapInList(n.ordered_list),
    "Ctrl->": wrapIn(n.blockquote),
  };
}

export class SectionEditor {
  readonly view: EditorView;
  readonly fragment: Y.XmlFragment;
  private readonly options: SectionEditorOptions;
  private destroyed = false;

  constructor(options: SectionEditorOptions) {
    this.options = options;
    this.fragment = options.fragment;
    // The only root a remote cursor in this section may name (a selection up to its very end).
    const rootName = findRootTypeKey(options.fragment);
    const highlights = new Plugin<DecorationSet>({
      key: highlightKey,
      state: {
        init: () => DecorationSet.empty,
        apply: (tr, set) => {
          const fresh = tr.getMeta(highlightKey) as DecorationSet | undefined;
          if (fresh) return fresh;
          return set.map(tr.mapping, tr.doc);
        },
      },
      props: {
        decorations: (state) => highlightKey.getState(state),
        handleClick: (_view, pos) => {
          const set = highlightKey.getState(_view.state);
          const found = set?.find(pos, pos)[0];
          const id = (found?.spec as { commentId?: string } | undefined)?.commentId;
          if (id) options.onHighlightClick?.(id);
          return false;
        },
      },
    });
    const state = EditorState.create({
      schema,
      plugins: [
        ySyncPlugin(options.fragment),
        yCursorPlugin(options.awareness, {
          cursorBuilder,
          selectionBuilder,
          awarenessStateFilter: (mine: number, clientId: number, state: Record<string, unknown>) =>
            mine !== clientId && isDrawableCursorState(state, rootName),
        }),
        yUndoPlugin(),
        buildInputRules(),
        keymap(buildKeymap()),
        keymap(baseKeymap),
        highlights,
      ],
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    this.view = new EditorView(options.mount, {
      state,
      editable: () => !this.destroyed && options.editable(),
      attributes: () => {
        const editable = !this.destroyed && options.editable();
        return {
          class: `prose${editable ? "" : " is-readonly"}`,
          role: "textbox",
          "aria-multiline": "true",
          "aria-label": options.label,
          "aria-readonly": editable ? "false" : "true",
          // A read-only section can still be focused, read with the keyboard and selected.
          tabindex: "0",
          spellcheck: editable ? "true" : "false",
        };
      },
      // Called with the view as `this`, also while the view is being built (y-prosemirror
      // renders the Y content into it from its constructor).
      dispatchTransaction(this: EditorView, tr: Transaction) {
        if (self.destroyed) return;
        this.updateState(this.state.apply(tr));
        if (!self.view) return;
        if (tr.selectionSet || tr.docChanged) options.onSelection?.(self);
        if (tr.docChanged) self.refreshHighlights();
      },
    });
    this.view.dom.addEventListener("focus", () => options.onFocus?.(this));
    // A read-only view never writes to its Y type. (y-prosemirror writes back whatever the
    // schema normalised, e.g. text another client put straight under the fragment; the server
    // would refuse that write from someone who may not edit the section, and close the socket.)
    const binding = ySyncPluginKey.getState(this.view.state).binding as { _prosemirrorChanged(doc: unknown): void };
    const write = binding._prosemirrorChanged.bind(binding);
    binding._prosemirrorChanged = (doc: unknown) => {
      if (!this.destroyed && this.view.editable) write(doc);
    };
    this.refreshHighlights();
  }

  get editable(): boolean {
    return this.view.editable;
  }

  /** Re-read `editable()` (after a permission change). */
  refreshEditable(label?: string): void {
    if (label) this.options.label = label;
    if (!this.destroyed) this.view.setProps({});
  }

  /** y-prosemirror's mapping of this section's Y types to ProseMirror nodes. */
  get mapping(): PmMapping {
    return ySyncPluginKey.getState(this.view.state).binding.mapping as PmMapping;
  }

  refreshHighlights(): void {
    if (this.destroyed) return;
    const size = this.view.state.doc.content.size;
    const decorations = this.options.highlights(this).flatMap((h) => {
      const from = Math.max(0, Math.min(h.from, size));
      const to = Math.max(0, Math.min(h.to, size));
      if (to <= from) return [];
      const cls = `comment-mark${h.suggestion ? " is-suggestion" : ""}${h.active ? " is-active" : ""}`;
      return [Decoration.inline(from, to, { class: cls, "data-comment-id": h.id }, { commentId: h.id })];
    });
    const set = DecorationSet.create(this.view.state.doc, decorations);
    // Deferred: this may be asked while another transaction is being applied.
    queueMicrotask(() => {
      if (!this.destroyed) this.view.dispatch(this.view.state.tr.setMeta(highlightKey, set));
    });
  }

  /**
   * The text the user has selected in this section as a ProseMirror range, also when the view
   * is read-only (from the DOM selection); null if the selection is elsewhere or empty.
   */
  selection(): { from: number; to: number; text: string } | null {
    const dom = window.getSelection();
    let range: { from: number; to: number } | null = null;
    if (dom && dom.rangeCount > 0 && !dom.isCollapsed && this.view.dom.contains(dom.anchorNode) && this.view.dom.contains(dom.focusNode)) {
      try {
        const a = this.view.posAtDOM(dom.anchorNode!, dom.anchorOffset);
        const b = this.view.posAtDOM(dom.focusNode!, dom.focusOffset);
        range = { from: Math.min(a, b), to: Math.max(a, b) };
      } catch {
        range = null;
      }
    }
    if (!range && this.view.hasFocus() && !this.view.state.selection.empty) {
      range = { from: this.view.state.selection.from, to: this.view.state.selection.to };
    }
    if (!range || range.to <= range.from) return null;
    const text = this.view.state.doc.textBetween(range.from, range.to, "\n", " ");
    return text.trim() ? { ...range, text } : null;
  }

  /** Run a formatting command on this editor (toolbar). */
  run(command: Command): boolean {
    if (!this.editable) return false;
    const done = command(this.view.state, this.view.dispatch, this.view);
    this.view.focus();
    return done;
  }

  can(command: Command): boolean {
    return this.editable && command(this.view.state, undefined, this.view);
  }

  isMarkActive(type: MarkType): boolean {
    const { from, $from, to, empty } = this.view.state.selection;
    if (empty) return !!type.isInSet(this.view.state.storedMarks || $from.marks());
    return this.view.state.doc.rangeHasMark(from, to, type);
  }

  isBlockActive(type: NodeType, attrs: Record<string, unknown> = {}): boolean {
    const { $from, to } = this.view.state.selection;
    return to <= $from.end() && $from.parent.hasMarkup(type, attrs);
  }

  /** Replace [from, to) with text, as this user's own edit (undoable, synced). */
  replace(from: number, to: number, text: string): void {
    const tr = this.view.state.tr;
    if (text) tr.insertText(text, from, to);
    else tr.delete(from, to);
    this.view.dispatch(tr);
  }

  scrollTo(pos: number): void {
    try {
      const coords = this.view.coordsAtPos(pos);
      const host = this.view.dom.closest(".section-card") ?? this.view.dom;
      const rect = host.getBoundingClientRect();
      if (coords.top < 80 || coords.bottom > window.innerHeight - 40) {
        window.scrollBy({ top: coords.top - window.innerHeight / 3, behavior: "smooth" });
      } else if (rect.top > window.innerHeight) {
        host.scrollIntoView({ block: "center", behavior: "smooth" });
      }
    } catch {
      /* position outside the view */
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.view.destroy();
  }
}

export const commands = {
  undo: undoCommand,
  redo: redoCommand,
  bold: toggleMark(schema.marks.strong),
  italic: toggleMark(schema.marks.em),
  code: toggleMark(schema.marks.code),
  paragraph: setBlockType(schema.nodes.paragraph),
  heading: (level: number): Command => setBlockType(schema.nodes.heading, { level }),
  bulletList: wrapInList(schema.nodes.bullet_list),
  orderedList: wrapInList(schema.nodes.ordered_list),
  quote: wrapIn(schema.nodes.blockquote),
  codeBlock: setBlockType(schema.nodes.code_block),
  lift: liftListItem(schema.nodes.list_item),
  link: (href: string | null): Command => (state, dispatch) => {
    const type = schema.marks.link;
    const { from, to, empty } = state.selection;
    if (empty && !href) return false;
    if (!dispatch) return true;
    if (href === null) {
      dispatch(state.tr.removeMark(from, to, type));
    } else if (empty) {
      dispatch(state.tr.insertText(href, from, to).addMark(from, from + href.length, type.create({ href })));
    } else {
      dispatch(state.tr.removeMark(from, to, type).addMark(from, to, type.create({ href })));
    }
    return true;
  },
};
