/**
 * The document page: sections as rich-text editors over one Y.Doc and one websocket, with
 * presence, comments and suggestions, section metadata, and what the server says about my
 * access (4403/4404/4401 stop; 4409 re-reads it).
 */

import {
  ApiError,
  createSection,
  createThread,
  decideComment,
  deleteComment,
  deleteSection,
  documentProgress,
  editComment,
  listComments,
  getDocument,
  listMembers,
  listSections,
  renameDocument,
  reorderSections,
  replyToComment,
  updateSection,
  type CommentDecision,
  type CommentRecord,
  type DocumentInfo,
  type Member,
  type Section,
  type SectionStatus,
} from "../api";
import type { AppContext } from "../context";
import { button, errorText, h, setMessage, toast, uid } from "../dom";
import { icon } from "../icons";
import { STATUSES, formatDate, initials, roleLabel, userColor } from "../labels";
import {
  capabilities,
  describeAccess,
  readOnlyReason,
  sectionRoot,
  writeScopeNarrowed,
  type Capabilities,
} from "../permissions";
import { describe as describeConnection, MESSAGES, type CloseAction, type ConnectionModel } from "../connection";
import { DocSession } from "../session";
import { remoteUser } from "../presence";
import { SectionEditor, commands, type Highlight } from "../editor/section-editor";
import { safeHref, schema } from "../editor/schema";
import { CommentFeed, anchorRange, can, createdMs, resolveRange, type CommentAnchor, type Thread } from "../comments";
import { docHref, progressHref, timelineHref } from "../routes";
import { openShareDialog } from "./share";
import { progressContent } from "./progress-view";

const META_POLL_MS = 15_000;
// Comments are re-read at once when a peer's page bumps `commentsRev` in its awareness state
// (after it changed one), and polled this slowly as a fallback. Both go once the per-user live
// event channel of issue 8 ("Reach") pushes comment events.
const COMMENTS_POLL_MS = 30_000;

interface SectionCard {
  root: HTMLElement;
  titleEl: HTMLInputElement | HTMLHeadingElement;
  lock: HTMLElement;
  status: HTMLSelectElement;
  due: HTMLInputElement;
  assignee: HTMLSelectElement;
  up: HTMLButtonElement | null;
  down: HTMLButtonElement | null;
  remove: HTMLButtonElement | null;
  here: HTMLElement;
  host: HTMLElement;
}

interface Selected {
  editor: SectionEditor;
  sectionId: string;
  from: number;
  to: number;
  text: string;
}

export async function renderDocument(ctx: AppContext, id: string): Promise<void> {
  const page = new DocumentPage(ctx, id);
  ctx.onLeave(() => page.destroy());
  await page.start();
}

class DocumentPage {
  private readonly ctx: AppContext;
  private readonly id: string;
  private info!: DocumentInfo;
  private caps!: Capabilities;
  private sections: Section[] = [];
  private members: Member[] = [];
  private session: DocSession | null = null;
  private readonly editors = new Map<string, SectionEditor>();
  private readonly cards = new Map<string, SectionCard>();
  private activeEditor: SectionEditor | null = null;
  private activeComment: string | null = null;
  private composer: { mode: "comment" | "suggest"; selected: Selected; anchor: CommentAnchor } | null = null;
  private readonly replyDrafts = new Map<string, string>();
  private feed: CommentFeed | null = null;
  private threads: Thread[] = [];
  /** The comment whose body I am editing, and the one whose deletion awaits confirmation. */
  private editing: { id: string; draft: string } | null = null;
  private confirmingDelete: string | null = null;
  private showResolved = false;
  private destroyed = false;
  private timers: number[] = [];
  private seenRevs = new Map<number, number>();
  private seenCommentRevs = new Map<number, number>();
  private metaRefreshQueued = false;
  private renderQueued = false;

  // DOM
  private readonly root = h("div", { class: "page doc-page" });
  private readonly titleEl = h("h1", { id: "doc-title", class: "doc-title", tabindex: -1 });
  private readonly titleRow = h("div", { class: "title-row" });
  private readonly accessLine = h("p", { class: "access-line", id: "access-line" });
  private readonly connNote = h("p", { class: "conn-note", id: "connection-note" });
  private readonly alertBox = h("div", { class: "alert alert-error doc-alert", role: "alert", id: "doc-alert" });
  private readonly noticeBox = h("div", { class: "alert alert-info doc-notice", role: "status", id: "doc-notice" });
  private readonly presence = h("ul", { class: "presence", id: "presence", "aria-label": "Here now" });
  private readonly conn = h("div", { class: "conn", id: "connection-status", role: "status", "aria-live": "polite", "data-status": "connecting" });
  private readonly actions = h("div", { class: "doc-actions" });
  private readonly toolbar = h("div", { class: "toolbar", role: "toolbar", "aria-label": "Formatting", "aria-controls": "sections" });
  private readonly sectionList = h("div", { class: "sections", id: "sections" });
  private readonly addSectionRow = h("div", { class: "add-section" });
  private readonly commentsPanel = h("aside", { class: "comments-panel", id: "comments-panel", "aria-labelledby": "comments-heading" });
  private toolbarButtons: { el: HTMLButtonElement; update: () => void }[] = [];
  private blockSelect: HTMLSelectElement | null = null;

  constructor(ctx: AppContext, id: string) {
    this.ctx = ctx;
    this.id = id;
    this.alertBox.hidden = true;
    this.noticeBox.hidden = true;
  }

  // ---------------------------------------------------------------- start and stop

  async start(): Promise<void> {
    this.ctx.mount(h("div", { class: "page" }, h("p", { class: "muted", role: "status" }, "Opening the document…")));
    try {
      this.info = await getDocument(this.id);
    } catch (error) {
      if (!this.ctx.alive()) return;
      this.renderUnavailable(error instanceof ApiError && error.status === 404 ? MESSAGES["not-found"] : `Could not open the document: ${errorText(error)}`);
      return;
    }
    if (!this.ctx.alive()) return;
    document.title = `${this.info.title} — Widen`;
    if (this.info.role === "progress") {
      await this.renderProgressOnly(null);
      return;
    }
    this.caps = capabilities(this.info);
    try {
      [this.sections, this.members] = await Promise.all([listSections(this.id), listMembers(this.id)]);
    } catch (error) {
      if (!this.ctx.alive()) return;
      this.renderUnavailable(error instanceof ApiError && error.status === 404 ? MESSAGES["not-found"] : `Could not open the document: ${errorText(error)}`);
      return;
    }
    if (!this.ctx.alive()) return;
    this.buildPage();
    this.feed = new CommentFeed(
      () => listComments(this.id),
      (threads) => {
        this.threads = threads;
        this.scheduleRender();
      },
      { pollMs: COMMENTS_POLL_MS },
    );
    this.openSession();
    void this.feed.start();
    this.timers.push(window.setInterval(() => this.refreshMeta(), META_POLL_MS));
    const onKey = (event: KeyboardEvent): void => {
      if ((event.ctrlKey || event.metaKey) && event.altKey && event.key.toLowerCase() === "m") {
        event.preventDefault();
        this.startComposer("comment");
      }
    };
    document.addEventListener("keydown", onKey);
    const onSelectionChange = (): void => this.updateToolbar();
    document.addEventListener("selectionchange", onSelectionChange);
    this.cleanup = () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("selectionchange", onSelectionChange);
    };
  }

  private cleanup: () => void = () => {};

  destroy(): void {
    this.destroyed = true;
    this.cleanup();
    for (const t of this.timers) clearInterval(t);
    this.feed?.stop();
    this.destroyEditors();
    this.session?.destroy();
    this.session = null;
  }

  private renderUnavailable(message: string): void {
    const heading = h("h1", { tabindex: -1 }, "Document unavailable");
    this.ctx.mount(
      h(
        "div",
        { class: "page narrow unavailable" },
        h("div", { class: "unavailable-icon", "aria-hidden": "true" }, icon("lock", 28)),
        heading,
        h("p", { class: "alert alert-error", role: "alert", id: "doc-alert" }, message),
        h("p", {}, h("a", { href: "#/", class: "btn" }, icon("back", 16), "Back to your documents")),
      ),
      heading,
    );
  }

  private async renderProgressOnly(notice: string | null): Promise<void> {
    const heading = h("h1", { tabindex: -1, id: "doc-title" }, this.info.title);
    const body = h("div", {}, h("p", { class: "muted" }, "Loading progress…"));
    this.ctx.mount(
      h(
        "div",
        { class: "page" },
        h("a", { href: "#/", class: "back-link" }, icon("back", 16), "Your documents"),
        heading,
        notice ? h("p", { class: "alert alert-info", role: "status", id: "doc-notice" }, notice) : null,
        h("p", { class: "access-line", id: "access-line" }, MESSAGES["progress-only"]),
        body,
      ),
      heading,
    );
    try {
      const progress = await documentProgress(this.id);
      if (this.ctx.alive()) body.replaceChildren(progressContent(progress));
    } catch (error) {
      if (this.ctx.alive()) body.replaceChildren(h("p", { class: "alert alert-error", role: "alert" }, errorText(error)));
    }
  }

  // ---------------------------------------------------------------- the live session

  private openSession(): void {
    const me = this.ctx.user;
    const session = new DocSession(this.id, { id: me.id, name: me.name, color: userColor(me.id) }, {
      onModel: (model) => this.onConnection(model),
      onStop: (action) => this.onStop(action),
      onAccessChanged: () => void this.reconcileAccess("changed"),
      onBackOnline: () => void this.reconcileAccess("reconnect"),
      onAwareness: () => this.onAwareness(),
    });
    this.session = session;
    for (const section of this.sections) this.ensureEditor(section);
    this.onConnection(session.model);
    session.connect();
    this.renderComments();
  }

  /** Start again from an empty Y.Doc (after my write access narrowed). */
  private rebuildSession(): void {
    this.destroyEditors();
    this.session?.destroy();
    this.session = null;
    this.composer = null;
    this.openSession();
  }

  private destroyEditors(): void {
    for (const editor of this.editors.values()) editor.destroy();
    this.editors.clear();
    for (const card of this.cards.values()) card.host.replaceChildren();
    this.activeEditor = null;
  }

  private onConnection(model: ConnectionModel): void {
    const badge = describeConnection(model);
    this.conn.dataset.status = model.phase;
    this.conn.dataset.unsent = String(model.unsent);
    this.conn.className = `conn conn-${badge.tone}`;
    this.conn.title = badge.detail;
    this.conn.replaceChildren(
      h("span", { class: "dot", "aria-hidden": "true" }),
      h("span", { class: "conn-label" }, badge.label),
    );
    // Say more, visibly, when the connection is not what one would assume.
    const explain = model.phase === "offline" || (model.phase === "reconnecting" && model.unsent > 0);
    this.connNote.textContent = explain ? badge.detail : "";
    this.connNote.hidden = !explain;
    // Sections become editable after the first sync, and stay so offline.
    for (const editor of this.editors.values()) editor.refreshEditable();
    this.updateToolbar();
  }

  private onStop(action: Extract<CloseAction, { kind: "stop" }>): void {
    if (this.destroyed) return;
    switch (action.reason) {
      case "signed-out":
        this.ctx.signedOut(action.message);
        return;
      case "not-found":
        this.destroyEditors();
        this.renderUnavailable(action.message);
        return;
      case "progress-only":
        this.destroyEditors();
        void this.renderProgressOnly(null);
        return;
      case "revoked":
        this.stopEditing(action.message);
        // A move to "progress" also ends the socket as a revocation: look, and say so.
        void getDocument(this.id)
          .then(async (info) => {
            if (this.destroyed || info.role !== "progress") return;
            this.info = info;
            this.destroyEditors();
            await this.renderProgressOnly("Your access changed: you now follow this document's progress only.");
          })
          .catch(() => undefined);
        return;
      default:
        this.stopEditing(action.message, action.reason === "refused-write");
    }
  }

  private stopEditing(message: string, offerReload = false): void {
    this.caps = capabilities(this.info, { stopped: true });
    this.session?.stop();
    this.composer = null;
    this.alertBox.replaceChildren(h("span", {}, message));
    if (offerReload) {
      this.alertBox.append(" ", button("Reload", { class: "btn btn-sm" }, () => location.reload()));
    }
    this.alertBox.hidden = false;
    this.noticeBox.hidden = true;
    this.applyCapabilities();
  }

  /**
   * Re-read my access and carry on under it: after a 4409 ("access changed"), and before
   * reconnecting with edits made offline (my access may have changed meanwhile, and the server
   * refuses, with a 4403, an edit I may no longer make). When I can no longer write something I
   * could, unsent edits are discarded by starting again from a fresh Y.Doc, and I am told.
   */
  private async reconcileAccess(trigger: "changed" | "reconnect"): Promise<void> {
    if (this.destroyed || !this.session) return;
    let info: DocumentInfo;
    try {
      info = await getDocument(this.id);
    } catch (error) {
      if (this.destroyed) return;
      if (error instanceof ApiError && error.status === 404) {
        this.stopEditing(MESSAGES.revoked);
      } else {
        // Could not ask: reconnect anyway; the server will tell us if need be.
        this.session?.resume();
      }
      return;
    }
    if (this.destroyed || !this.session) return;
    if (info.role === "progress") {
      this.info = info;
      this.destroyEditors();
      this.session.destroy();
      this.session = null;
      await this.renderProgressOnly("Your access changed: you now follow this document's progress only.");
      return;
    }
    const next = capabilities(info);
    const narrowed = writeScopeNarrowed(this.caps, next);
    const changed = info.role !== this.info.role || JSON.stringify(info.sections) !== JSON.stringify(this.info.sections);
    const unsent = this.session.model.unsent > 0;
    this.info = info;
    this.caps = next;
    if (trigger === "changed" || changed) {
      try {
        [this.sections, this.members] = await Promise.all([listSections(this.id), listMembers(this.id)]);
      } catch {
        /* keep what we have */
      }
      if (this.destroyed || !this.session) return;
    }
    if (narrowed) {
      // Edits I may no longer make would be refused: start again from the server's copy.
      this.rebuildSession();
    } else {
      this.session.resume();
    }
    if (trigger === "changed" || changed) {
      // What I may do to each comment changed too: the server lists it anew.
      void this.feed?.refresh();
      let notice = `Your access changed: ${describeAccess(info, (sid) => this.sectionTitle(sid))}`;
      if (narrowed && unsent) notice += " Your unsent edits were discarded, since you can no longer make them.";
      setMessage(this.noticeBox, notice);
      this.applyCapabilities();
    }
  }

  private onAwareness(): void {
    this.renderPresence();
    // Someone changed section metadata (titles, order, status): they bump `rev`.
    const states = this.session?.awareness.getStates();
    if (!states || !this.session) return;
    const mine = this.session.ydoc.clientID;
    let changed = false;
    let commentsChanged = false;
    const bumped = (seen: Map<number, number>, clientId: number, value: unknown): boolean => {
      const rev = typeof value === "number" ? value : 0;
      if ((seen.get(clientId) ?? 0) === rev) return false;
      const news = seen.has(clientId) || rev !== 0;
      seen.set(clientId, rev);
      return news;
    };
    states.forEach((state, clientId) => {
      if (clientId === mine) return;
      if (bumped(this.seenRevs, clientId, state.rev)) changed = true;
      // Someone changed a comment: they bump `commentsRev` (see COMMENTS_POLL_MS).
      if (bumped(this.seenCommentRevs, clientId, state.commentsRev)) commentsChanged = true;
    });
    if (changed) this.refreshMeta();
    if (commentsChanged) void this.feed?.refresh();
  }

  /** Tell the others that section metadata changed (they re-read it). */
  private bumpRev(): void {
    this.session?.awareness.setLocalStateField("rev", Date.now());
  }

  /** Show a comment record the server returned, and tell the others to re-read theirs. */
  private commentChanged(record: CommentRecord | { deleted: string }): void {
    if ("deleted" in record) this.feed?.remove(record.deleted);
    else this.feed?.put(record);
    this.session?.awareness.setLocalStateField("commentsRev", Date.now());
  }

  private refreshMeta(): void {
    if (this.metaRefreshQueued || this.destroyed || this.caps.stopped) return;
    this.metaRefreshQueued = true;
    setTimeout(async () => {
      this.metaRefreshQueued = false;
      try {
        const [sections, members] = await Promise.all([listSections(this.id), listMembers(this.id)]);
        if (this.destroyed) return;
        this.sections = sections;
        this.members = members;
        this.renderSections();
        this.renderPresence();
        this.renderComments();
        this.renderAccessLine();
      } catch {
        /* the socket's close code tells us about lost access */
      }
    }, 150);
  }

  // ---------------------------------------------------------------- building the page

  private buildPage(): void {
    this.renderTitle();
    this.renderActions();
    this.buildToolbar();
    this.renderSections();
    this.renderAddSection();
    this.renderAccessLine();
    this.ctx.mount(
      h(
        "div",
        { class: "doc-shell" },
        h(
          "header",
          { class: "doc-header" },
          h(
            "div",
            { class: "doc-header-inner" },
            h("div", { class: "doc-heading" }, h("a", { href: "#/", class: "back-link" }, icon("back", 16), "Your documents"), this.titleRow, this.accessLine, this.connNote),
            h("div", { class: "doc-status" }, this.presence, this.conn, this.actions),
          ),
        ),
        this.root,
      ),
      this.titleEl,
    );
    this.root.replaceChildren(
      this.alertBox,
      this.noticeBox,
      h(
        "div",
        { class: "doc-layout" },
        h("div", { class: "doc-main" }, this.toolbar, this.sectionList, this.addSectionRow),
        this.commentsPanel,
      ),
    );
    this.renderPresence();
  }

  private renderTitle(): void {
    this.titleEl.textContent = this.info.title;
    const badge = this.caps.stopped
      ? h("span", { class: "badge badge-danger", id: "role-badge" }, "No longer editing")
      : h("span", { class: `badge badge-role role-${this.info.role}`, id: "role-badge" }, roleLabel(this.info.role));
    const children: HTMLElement[] = [this.titleEl, badge];
    if (this.caps.canManage) {
      const rename = button(icon("pencil", 15), { class: "icon-btn", "aria-label": "Rename document", title: "Rename" }, () => this.startRename());
      children.splice(1, 0, rename);
    }
    this.titleRow.replaceChildren(...children);
  }

  private startRename(): void {
    const input = h("input", { class: "input title-input", value: this.info.title, "aria-label": "Document title", maxlength: 300 });
    const finish = async (save: boolean): Promise<void> => {
      const title = input.value.trim();
      if (save && title && title !== this.info.title) {
        try {
          this.info = await renameDocument(this.id, title);
          document.title = `${this.info.title} — Widen`;
        } catch (error) {
          toast(`Could not rename: ${errorText(error)}`, "error");
        }
      }
      this.renderTitle();
      this.titleEl.focus();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") void finish(true);
      if (event.key === "Escape") void finish(false);
    });
    input.addEventListener("blur", () => void finish(true), { once: true });
    this.titleRow.replaceChildren(input);
    input.focus();
    input.select();
  }

  private renderAccessLine(): void {
    if (this.caps.stopped) {
      this.accessLine.textContent = "Read-only: editing has stopped.";
      return;
    }
    let text = describeAccess(this.info, (sid) => this.sectionTitle(sid));
    if (this.caps.canManage) {
      const others = this.members.filter((m) => m.role !== "owner").length;
      text += others === 0 ? " It is private: nobody else can tell it exists." : ` Shared with ${others} ${others === 1 ? "person" : "people"}.`;
    }
    this.accessLine.textContent = text;
  }

  private renderActions(): void {
    const items: HTMLElement[] = [];
    if (this.caps.canManage) {
      items.push(
        button([icon("share", 16), "Share"], { class: "btn btn-primary", id: "share-button" }, () =>
          openShareDialog({
            documentId: this.id,
            title: this.info.title,
            sections: this.sections,
            onChanged: () => this.refreshMeta(),
          }),
        ),
      );
    }
    if (!this.caps.stopped) {
      items.push(
        h("a", { href: timelineHref(this.id), class: "btn", id: "timeline-link", title: "How this document became social" }, icon("clock", 16), "Timeline"),
        h("a", { href: progressHref(this.id), class: "btn btn-ghost", id: "progress-link" }, icon("chart", 16), "Progress"),
      );
    }
    this.actions.replaceChildren(...items);
  }

  private renderPresence(): void {
    const session = this.session;
    if (!session) return;
    const users = new Map<string, { name: string; color: string; me: boolean; section: string | null }>();
    session.awareness.getStates().forEach((state, clientId) => {
      // Another member's client wrote this state: only what remoteUser() lets through is drawn.
      const user = remoteUser(state.user, clientId);
      if (!user.id) return;
      const me = clientId === session.ydoc.clientID || user.id === this.ctx.user.id;
      const prev = users.get(user.id);
      const section = typeof state.section === "string" ? state.section : null;
      users.set(user.id, { name: user.name, color: user.color, me, section: prev?.section ?? section });
    });
    const list = [...users.entries()].sort((a, b) => Number(b[1].me) - Number(a[1].me));
    this.presence.replaceChildren(
      ...list.map(([uidValue, u]) => {
        const label = u.me ? `${u.name} (you)` : u.name;
        return h(
          "li",
          { class: "presence-item", title: label, "data-user-id": uidValue },
          h("span", { class: "avatar", style: `--c:${u.color}`, "aria-hidden": "true" }, initials(u.name)),
          h("span", { class: "visually-hidden" }, label),
        );
      }),
    );
    this.presence.dataset.count = String(list.length);
    // Who is in which section right now.
    for (const [sectionId, card] of this.cards) {
      const here = list.filter(([, u]) => !u.me && u.section === sectionId);
      card.here.replaceChildren(
        ...here.map(([, u]) => h("span", { class: "here-chip", style: `--c:${u.color}` }, h("span", { class: "dot", "aria-hidden": "true" }), `${u.name} is here`)),
      );
    }
  }

  // ---------------------------------------------------------------- toolbar

  private buildToolbar(): void {
    const active = (): SectionEditor | null => (this.activeEditor && this.activeEditor.editable ? this.activeEditor : null);
    const mk = (label: string, content: Node | string, run: () => void, isOn?: (e: SectionEditor) => boolean, enabled?: () => boolean): HTMLButtonElement => {
      const el = h("button", { type: "button", class: "tb-btn", "aria-label": label, title: label }, content);
      if (isOn) el.setAttribute("aria-pressed", "false");
      el.addEventListener("mousedown", (event) => event.preventDefault()); // keep the editor's selection
      el.addEventListener("click", run);
      this.toolbarButtons.push({
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

    const formatting = h(
      "div",
      { class: "tb-group", id: "format-tools" },
      block,
      h("span", { class: "tb-sep", "aria-hidden": "true" }),
      mk("Bold (Ctrl+B)", glyph("B", "g-bold"), runCmd(commands.bold), (e) => e.isMarkActive(schema.marks.strong)),
      mk("Italic (Ctrl+I)", glyph("I", "g-italic"), runCmd(commands.italic), (e) => e.isMarkActive(schema.marks.em)),
      mk("Inline code", icon("code", 17), runCmd(commands.code), (e) => e.isMarkActive(schema.marks.code)),
      mk("Link", icon("link", 17), () => this.promptLink(), (e) => e.isMarkActive(schema.marks.link)),
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
      mk("Comment on the selected text (Ctrl+Alt+M)", h("span", { class: "tb-label" }, icon("comment", 16), "Comment"), () => this.startComposer("comment"), undefined, () => this.caps.canComment && !!this.currentSelection()),
      mk("Suggest a replacement for the selected text", h("span", { class: "tb-label" }, icon("pencil", 16), "Suggest"), () => this.startComposer("suggest"), undefined, () => this.caps.canComment && !!this.currentSelection()),
    );
    this.toolbar.replaceChildren(formatting, commenting);
    // Arrow keys move between the toolbar's controls (they stay reachable with Tab too).
    this.toolbar.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
      if (event.target instanceof HTMLSelectElement) return;
      const controls = [...this.toolbar.querySelectorAll<HTMLElement>("button, select")].filter(
        (el) => !(el as HTMLButtonElement).disabled && el.offsetParent !== null,
      );
      const at = controls.indexOf(document.activeElement as HTMLElement);
      if (at < 0) return;
      event.preventDefault();
      controls[(at + (event.key === "ArrowRight" ? 1 : controls.length - 1)) % controls.length].focus();
    });
  }

  private updateToolbar(): void {
    if (!this.caps) return;
    const anyEditable = this.sections.some((s) => this.caps.canEditSection(s.id));
    const formatGroup = this.toolbar.querySelector<HTMLElement>("#format-tools");
    if (formatGroup) formatGroup.hidden = !anyEditable;
    const commentGroup = this.toolbar.querySelector<HTMLElement>(".tb-comment");
    if (commentGroup) commentGroup.hidden = !this.caps.canComment;
    this.toolbar.hidden = !anyEditable && !this.caps.canComment;
    for (const b of this.toolbarButtons) b.update();
    const editor = this.activeEditor && this.activeEditor.editable ? this.activeEditor : null;
    if (this.blockSelect) {
      this.blockSelect.disabled = !editor;
      if (editor) {
        const n = schema.nodes;
        this.blockSelect.value = editor.isBlockActive(n.code_block)
          ? "code"
          : [1, 2, 3].find((l) => editor.isBlockActive(n.heading, { level: l }))
            ? `h${[1, 2, 3].find((l) => editor.isBlockActive(n.heading, { level: l }))}`
            : "p";
      }
    }
  }

  private promptLink(): void {
    const editor = this.activeEditor;
    if (!editor || !editor.editable) return;
    if (editor.isMarkActive(schema.marks.link)) {
      editor.run(commands.link(null));
      return;
    }
    const dialog = h("dialog", { class: "dialog dialog-small", "aria-labelledby": "link-heading" });
    const input = h("input", { id: "link-url", class: "input", type: "url", placeholder: "https://example.org", required: true });
    const error = h("p", { class: "alert alert-error", role: "alert" });
    error.hidden = true;
    const form = h(
      "form",
      { method: "dialog" },
      h("h2", { id: "link-heading" }, "Add a link"),
      h("div", { class: "field" }, h("label", { for: "link-url" }, "Address"), input),
      error,
      h("div", { class: "row end" }, button("Cancel", { class: "btn" }, () => dialog.close()), h("button", { type: "submit", class: "btn btn-primary" }, "Add link")),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const href = safeHref(input.value);
      if (!href) {
        setMessage(error, "Enter a web (http, https) or mail address.");
        return;
      }
      dialog.close();
      editor.run(commands.link(href));
    });
    dialog.append(form);
    dialog.addEventListener("close", () => {
      dialog.remove();
      editor.view.focus();
    });
    document.body.append(dialog);
    dialog.showModal();
  }

  // ---------------------------------------------------------------- sections

  private sectionTitle(sectionId: string): string | undefined {
    return this.sections.find((s) => s.id === sectionId)?.title;
  }

  private assigneeOptions(): { id: string; name: string }[] {
    return this.members.filter((m) => m.role === "owner" || m.role === "editor").map((m) => ({ id: m.user.id, name: m.user.name }));
  }

  private ensureEditor(section: Section): void {
    const session = this.session;
    const card = this.cards.get(section.id);
    if (!session || !card || this.editors.has(section.id)) return;
    const editor = new SectionEditor({
      mount: card.host,
      fragment: session.ydoc.getXmlFragment(sectionRoot(section.id)),
      awareness: session.awareness,
      label: `Text of section “${section.title}”`,
      editable: () => !this.destroyed && this.caps.canEditSection(section.id) && !!this.session?.model.everSynced,
      highlights: (ed) => this.highlightsFor(section.id, ed),
      onFocus: (ed) => {
        this.activeEditor = ed;
        session.awareness.setLocalStateField("section", section.id);
        this.updateToolbar();
      },
      onSelection: (ed) => {
        if (ed.view.hasFocus()) this.activeEditor = ed;
        this.updateToolbar();
      },
      onHighlightClick: (commentId) => this.focusComment(commentId, false),
    });
    editor.view.dom.dataset.sectionId = section.id;
    editor.view.dom.addEventListener("blur", () => {
      // Leave the "who is where" hint once focus is outside every section.
      setTimeout(() => {
        if (!this.root.contains(document.activeElement) || !document.activeElement?.closest(".ProseMirror")) {
          this.session?.awareness.setLocalStateField("section", null);
        }
      }, 0);
    });
    this.editors.set(section.id, editor);
  }

  private renderSections(): void {
    const ordered = [...this.sections].sort((a, b) => a.position - b.position);
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
        card = this.buildCard(section);
        this.cards.set(section.id, card);
      }
      this.updateCard(card, section, index, ordered.length);
      // Keep DOM order without re-creating editors.
      const at = this.sectionList.children[index];
      if (at !== card.root) this.sectionList.insertBefore(card.root, at ?? null);
      this.ensureEditor(section);
    });
    if (ordered.length === 0) {
      if (!this.sectionList.querySelector(".empty")) {
        this.sectionList.append(
          h("p", { class: "empty sections-empty" }, this.caps.canStructure ? "This document has no sections yet. Add the first one below." : "This document has no sections yet."),
        );
      }
    } else {
      this.sectionList.querySelector(".sections-empty")?.remove();
    }
    this.renderAccessLine();
    this.updateToolbar();
  }

  private buildCard(section: Section): SectionCard {
    const sid = section.id;
    const titleId = `section-title-${sid}`;
    const structure = this.caps.canStructure;
    let titleEl: HTMLInputElement | HTMLHeadingElement;
    if (structure) {
      const input = h("input", { id: titleId, class: "section-title-input", value: section.title, "aria-label": "Section title", maxlength: 300 });
      const save = async (): Promise<void> => {
        const current = this.sections.find((s) => s.id === sid);
        const title = input.value.trim();
        if (!current || !title || title === current.title) {
          if (current && !title) input.value = current.title;
          return;
        }
        await this.patchSection(sid, { title });
      };
      input.addEventListener("change", () => void save());
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") {
          event.preventDefault();
          this.editors.get(sid)?.view.focus();
        }
      });
      titleEl = input;
    } else {
      titleEl = h("h2", { id: titleId, class: "section-title" }, section.title);
    }
    const statusId = uid("status");
    const dueId = uid("due");
    const assigneeId = uid("assignee");
    const status = h("select", { id: statusId, class: "chip-select status-select" }, ...STATUSES.map((s) => h("option", { value: s.value }, s.label)));
    status.addEventListener("change", () => void this.patchSection(sid, { status: status.value as SectionStatus }));
    const due = h("input", { id: dueId, class: "chip-input", type: "date" });
    due.addEventListener("change", () => void this.patchSection(sid, { due_date: due.value || null }));
    const assignee = h("select", { id: assigneeId, class: "chip-select" });
    assignee.addEventListener("change", () => void this.patchSection(sid, { assignee_id: assignee.value || null }));
    const lock = h("span", { class: "lock-badge" });
    const here = h("div", { class: "here" });
    let up: HTMLButtonElement | null = null;
    let down: HTMLButtonElement | null = null;
    let remove: HTMLButtonElement | null = null;
    const tools: HTMLElement[] = [];
    if (structure) {
      up = button(icon("up", 16), { class: "icon-btn", "aria-label": `Move section up` }, () => void this.move(sid, -1));
      down = button(icon("down", 16), { class: "icon-btn", "aria-label": `Move section down` }, () => void this.move(sid, 1));
      remove = button(icon("trash", 16), { class: "icon-btn danger", "aria-label": `Delete section` }, () => void this.removeSection(sid));
      tools.push(up, down, remove);
    }
    const host = h("div", { class: "editor-host" });
    // Screen readers navigate by headings; an editable title is an input, so name it twice.
    const hiddenHeading = structure ? h("h2", { class: "visually-hidden", id: `${titleId}-heading` }, section.title) : null;
    const root = h(
      "article",
      { class: "section-card", "data-section-id": sid, "aria-labelledby": structure ? `${titleId}-heading` : titleId },
      hiddenHeading,
      h(
        "div",
        { class: "section-head" },
        h("div", { class: "section-title-row" }, titleEl, lock, h("div", { class: "section-tools" }, ...tools)),
        h(
          "div",
          { class: "section-meta" },
          h("label", { class: "meta-field" }, h("span", { class: "meta-label" }, "Status"), status),
          h("label", { class: "meta-field" }, h("span", { class: "meta-label" }, "Due"), due),
          h("label", { class: "meta-field" }, h("span", { class: "meta-label" }, "Assignee"), assignee),
          here,
        ),
      ),
      host,
    );
    return { root, titleEl, lock, status, due, assignee, up, down, remove, here, host };
  }

  private updateCard(card: SectionCard, section: Section, index: number, total: number): void {
    const canMeta = this.caps.canUpdateSection(section.id);
    const readOnly = readOnlyReason(this.caps, section.id);
    card.root.dataset.sectionTitle = section.title;
    card.root.classList.toggle("is-readonly", readOnly !== "");
    card.root.dataset.editable = readOnly === "" ? "true" : "false";
    card.lock.hidden = readOnly === "";
    card.lock.replaceChildren(icon("lock", 13), readOnly);
    if (card.titleEl instanceof HTMLInputElement) {
      const hidden = card.root.querySelector<HTMLElement>(`#${CSS.escape(card.titleEl.id)}-heading`);
      if (hidden) hidden.textContent = section.title;
      if (document.activeElement !== card.titleEl) card.titleEl.value = section.title;
      card.titleEl.disabled = !this.caps.canStructure;
    } else {
      card.titleEl.textContent = section.title;
    }
    card.status.value = section.status;
    card.status.dataset.status = section.status;
    card.status.disabled = !canMeta;
    // Read-only: a plain date (or a dash), not an empty date picker.
    card.due.type = canMeta ? "date" : "text";
    if (document.activeElement !== card.due) card.due.value = canMeta ? (section.due_date ?? "") : section.due_date ? formatDate(section.due_date) : "—";
    card.due.disabled = !canMeta;
    const options = this.assigneeOptions();
    card.assignee.replaceChildren(
      h("option", { value: "" }, "Unassigned"),
      ...options.map((o) => h("option", { value: o.id }, o.id === this.ctx.user.id ? `${o.name} (you)` : o.name)),
    );
    if (section.assignee_id && !options.some((o) => o.id === section.assignee_id)) {
      card.assignee.append(h("option", { value: section.assignee_id }, "A former member"));
    }
    card.assignee.value = section.assignee_id ?? "";
    card.assignee.disabled = !canMeta;
    if (card.up) card.up.disabled = !this.caps.canStructure || index === 0;
    if (card.down) card.down.disabled = !this.caps.canStructure || index === total - 1;
    if (card.remove) card.remove.disabled = !this.caps.canStructure;
    this.editors.get(section.id)?.refreshEditable(`Text of section “${section.title}”`);
  }

  /** Section changes go out one at a time, so a slower answer never undoes a newer change. */
  private patchQueue: Promise<void> = Promise.resolve();

  private patchSection(sid: string, patch: Parameters<typeof updateSection>[2]): Promise<void> {
    const run = async (): Promise<void> => {
      const current = this.sections.find((s) => s.id === sid);
      if (!current || this.destroyed) return;
      try {
        const updated = await updateSection(this.id, sid, patch);
        for (const key of Object.keys(patch) as (keyof typeof patch)[]) {
          (current as unknown as Record<string, unknown>)[key] = updated[key];
        }
        current.updated_at = updated.updated_at;
        this.bumpRev();
      } catch (error) {
        toast(`Could not update the section: ${errorText(error)}`, "error");
      }
      if (!this.destroyed) this.renderSections();
    };
    this.patchQueue = this.patchQueue.then(run, run);
    return this.patchQueue;
  }

  private async move(sid: string, delta: number): Promise<void> {
    const ordered = [...this.sections].sort((a, b) => a.position - b.position).map((s) => s.id);
    const from = ordered.indexOf(sid);
    const to = from + delta;
    if (from < 0 || to < 0 || to >= ordered.length) return;
    ordered.splice(to, 0, ...ordered.splice(from, 1));
    try {
      this.sections = await reorderSections(this.id, ordered);
      this.bumpRev();
    } catch (error) {
      toast(`Could not reorder: ${errorText(error)}`, "error");
    }
    this.renderSections();
    const card = this.cards.get(sid);
    (delta < 0 ? card?.up : card?.down)?.focus();
    if (document.activeElement === document.body) (delta < 0 ? card?.down : card?.up)?.focus();
  }

  private async removeSection(sid: string): Promise<void> {
    const section = this.sections.find((s) => s.id === sid);
    if (!section) return;
    if (!window.confirm(`Delete the section “${section.title}”? Its text goes with it.`)) return;
    try {
      await deleteSection(this.id, sid);
      this.sections = this.sections.filter((s) => s.id !== sid);
      this.bumpRev();
      this.renderSections();
      toast(`Section “${section.title}” deleted.`);
    } catch (error) {
      toast(`Could not delete: ${errorText(error)}`, "error");
    }
  }

  private renderAddSection(): void {
    if (!this.caps.canStructure) {
      this.addSectionRow.replaceChildren();
      return;
    }
    const add = button([icon("plus", 16), "Add section"], { class: "btn btn-dashed", id: "add-section" }, async () => {
      add.disabled = true;
      try {
        const created = await createSection(this.id, "Untitled section");
        this.sections.push(created);
        this.bumpRev();
        this.renderSections();
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
    this.addSectionRow.replaceChildren(add);
  }

  /** Re-render everything that depends on what I may do. */
  private applyCapabilities(): void {
    this.renderTitle();
    this.renderActions();
    this.renderAddSection();
    this.renderSections();
    for (const editor of this.editors.values()) editor.refreshEditable();
    this.renderComments();
    this.updateToolbar();
  }

  // ---------------------------------------------------------------- comments

  private currentSelection(): Selected | null {
    for (const [sectionId, editor] of this.editors) {
      const sel = editor.selection();
      if (sel) return { editor, sectionId, ...sel };
    }
    return null;
  }

  private startComposer(mode: "comment" | "suggest"): void {
    if (!this.caps.canComment) return;
    const selected = this.currentSelection();
    if (!selected) {
      toast("Select some text first.", "error");
      return;
    }
    const anchor = anchorRange(selected.editor.fragment, selected.editor.mapping, selected.from, selected.to);
    this.composer = { mode, selected, anchor };
    this.renderComments();
    this.commentsPanel.querySelector<HTMLTextAreaElement>("#composer-body")?.focus();
  }

  private highlightsFor(sectionId: string, editor: SectionEditor): Highlight[] {
    const session = this.session;
    if (!session) return [];
    const out: Highlight[] = [];
    for (const c of this.threads) {
      if (c.section_id !== sectionId || c.status !== "open") continue;
      const range = resolveRange(session.ydoc, editor.fragment, editor.mapping, c.anchor);
      if (range) out.push({ id: c.id, ...range, active: c.id === this.activeComment, suggestion: c.suggestion !== null });
    }
    if (this.composer && this.composer.selected.sectionId === sectionId) {
      const range = resolveRange(session.ydoc, editor.fragment, editor.mapping, this.composer.anchor);
      if (range) out.push({ id: "draft", ...range, active: true, suggestion: this.composer.mode === "suggest" });
    }
    return out;
  }

  private scheduleRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      if (this.destroyed) return;
      this.renderComments();
    });
  }

  private focusComment(commentId: string, scroll: boolean): void {
    this.activeComment = commentId;
    this.renderComments();
    const card = this.commentsPanel.querySelector<HTMLElement>(`[data-comment-id="${CSS.escape(commentId)}"]`);
    card?.scrollIntoView({ block: "nearest", behavior: "smooth" });
    if (scroll && this.session) {
      const c = this.threads.find((x) => x.id === commentId);
      const editor = c ? this.editors.get(c.section_id) : undefined;
      const range = c && editor ? resolveRange(this.session.ydoc, editor.fragment, editor.mapping, c.anchor) : null;
      if (editor && range) editor.scrollTo(range.from);
    }
  }

  private renderComments(): void {
    const session = this.session;
    if (!session || this.destroyed) return;
    for (const editor of this.editors.values()) editor.refreshHighlights();

    const focusedId = (document.activeElement as HTMLElement | null)?.id ?? "";
    const order = new Map([...this.sections].sort((a, b) => a.position - b.position).map((s, i) => [s.id, i]));
    const all = this.threads.filter((c) => order.has(c.section_id));
    const positions = new Map<string, number>();
    for (const c of all) {
      const editor = this.editors.get(c.section_id);
      const range = editor ? resolveRange(session.ydoc, editor.fragment, editor.mapping, c.anchor) : null;
      positions.set(c.id, range ? range.from : Number.MAX_SAFE_INTEGER);
    }
    const sorted = all.sort(
      (a, b) => (order.get(a.section_id)! - order.get(b.section_id)!) || positions.get(a.id)! - positions.get(b.id)! || createdMs(a) - createdMs(b),
    );
    const open = sorted.filter((c) => c.status === "open");
    const shown = this.showResolved ? sorted : open;

    const toggle = button(this.showResolved ? "Hide closed" : `Show closed (${sorted.length - open.length})`, { class: "btn btn-ghost btn-sm", id: "toggle-resolved" }, () => {
      this.showResolved = !this.showResolved;
      this.renderComments();
    });
    toggle.hidden = sorted.length === open.length && !this.showResolved;

    const items: HTMLElement[] = [];
    if (this.composer) items.push(this.renderComposer());
    for (const c of shown) items.push(this.renderThread(c, positions.get(c.id) === Number.MAX_SAFE_INTEGER));

    let hint = "";
    if (!this.caps.canComment) hint = this.caps.stopped ? "" : "You can read comments; you cannot add any.";
    else if (!this.composer && shown.length === 0) hint = "Select text in a section, then choose Comment or Suggest.";

    this.commentsPanel.replaceChildren(
      h(
        "div",
        { class: "panel-head" },
        h("h2", { id: "comments-heading" }, icon("comment", 17), "Comments"),
        h("span", { class: "count", id: "open-comments-count" }, String(open.length)),
        toggle,
      ),
      ...(hint ? [h("p", { class: "muted small panel-hint" }, hint)] : []),
      h("ol", { class: "threads", "aria-label": "Comment threads" }, ...items),
    );
    if (focusedId) {
      const again = document.getElementById(focusedId);
      if (again && again !== document.activeElement) {
        again.focus();
        if (again instanceof HTMLTextAreaElement) again.setSelectionRange(again.value.length, again.value.length);
      }
    }
  }

  private renderComposer(): HTMLElement {
    const composer = this.composer!;
    const suggest = composer.mode === "suggest";
    const body = h("textarea", { id: "composer-body", class: "input", rows: suggest ? 2 : 3, placeholder: suggest ? "Why? (optional)" : "Your comment" });
    const replacement = suggest ? h("textarea", { id: "composer-suggestion", class: "input", rows: 2 }) : null;
    if (replacement) replacement.value = composer.selected.text;
    const error = h("p", { class: "alert alert-error", role: "alert" });
    error.hidden = true;
    const submit = h("button", { type: "submit", class: "btn btn-primary btn-sm", id: "composer-submit" }, suggest ? "Suggest" : "Comment");
    const form = h(
      "form",
      { class: "thread composer", "aria-label": suggest ? "Suggest a change" : "New comment" },
      h("p", { class: "thread-kind" }, suggest ? "Suggest a replacement" : "New comment"),
      h("blockquote", { class: "quote" }, composer.selected.text),
      replacement ? h("div", { class: "field" }, h("label", { for: "composer-suggestion" }, "Replace with"), replacement) : null,
      h("div", { class: "field" }, h("label", { for: "composer-body", class: suggest ? "" : "visually-hidden" }, suggest ? "Note" : "Comment"), body),
      error,
      h(
        "div",
        { class: "row end" },
        button("Cancel", { class: "btn btn-sm" }, () => {
          this.composer = null;
          this.renderComments();
        }),
        submit,
      ),
    );
    form.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        this.composer = null;
        this.renderComments();
      }
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = body.value.trim();
      const suggestion = replacement ? replacement.value : null;
      if (!suggest && !text) {
        setMessage(error, "Write a comment first.");
        return;
      }
      if (suggest && suggestion === composer.selected.text) {
        setMessage(error, "The replacement is the same as the current text.");
        return;
      }
      if (!this.caps.canComment || submit.disabled) return;
      submit.disabled = true;
      createThread(this.id, {
        section_id: composer.selected.sectionId,
        anchor: composer.anchor,
        quote: composer.selected.text,
        body: text,
        suggestion,
      }).then(
        (record) => {
          if (this.destroyed) return;
          if (this.composer === composer) this.composer = null;
          this.activeComment = record.id;
          this.commentChanged(record);
          this.renderComments();
          this.commentsPanel.querySelector<HTMLElement>(`[data-comment-id="${CSS.escape(record.id)}"]`)?.focus();
        },
        (err: unknown) => {
          submit.disabled = false;
          setMessage(error, `Could not save: ${errorText(err)}`);
        },
      );
    });
    return h("li", {}, form);
  }

  /** Run a request on a comment; on success show what the server returned. */
  private async changeComment(work: () => Promise<CommentRecord | { deleted: string }>, failure: string): Promise<boolean> {
    try {
      const result = await work();
      if (!this.destroyed) this.commentChanged(result);
      return true;
    } catch (err) {
      toast(`${failure}: ${errorText(err)}`, "error");
      void this.feed?.refresh();
      return false;
    }
  }

  private decide(c: CommentRecord, decision: CommentDecision): void {
    const failures: Record<CommentDecision, string> = {
      accept: "Could not accept",
      reject: "Could not reject",
      resolve: "Could not resolve",
      reopen: "Could not reopen",
    };
    void this.changeComment(() => decideComment(this.id, c.id, decision), failures[decision]);
  }

  private authorLine(c: CommentRecord): HTMLElement {
    const name = c.author?.name ?? "Unknown author";
    const edited = c.edited_at ? " · edited" : "";
    return h(
      "div",
      { class: "thread-author" },
      h("span", { class: "avatar avatar-sm", style: `--c:${userColor(c.author?.id ?? "")}`, "aria-hidden": "true" }, initials(name)),
      h("strong", {}, name),
      h("span", { class: "muted small" }, `${timeAgo(createdMs(c))}${edited}`),
    );
  }

  /** The body of a comment or reply: its text, or the editor for it while I edit it. */
  private renderBody(c: CommentRecord): HTMLElement | null {
    if (this.editing?.id !== c.id) return c.body ? h("p", { class: "thread-body" }, c.body) : null;
    const editing = this.editing;
    const input = h("textarea", { id: `edit-${c.id}`, class: "input", rows: 2, "aria-label": "Edit comment" });
    input.value = editing.draft;
    input.addEventListener("input", () => (editing.draft = input.value));
    const save = h("button", { type: "submit", class: "btn btn-primary btn-sm" }, "Save");
    const form = h(
      "form",
      { class: "edit-form" },
      input,
      h(
        "div",
        { class: "row end" },
        button("Cancel", { class: "btn btn-sm" }, () => {
          this.editing = null;
          this.renderComments();
        }),
        save,
      ),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (save.disabled) return;
      save.disabled = true;
      void this.changeComment(() => editComment(this.id, c.id, input.value), "Could not save").then((ok) => {
        if (ok && this.editing?.id === c.id) this.editing = null;
        save.disabled = false;
        this.renderComments();
      });
    });
    return form;
  }

  /** Edit and delete, for what I may edit or delete (a deletion asks first). */
  private ownActions(c: CommentRecord): HTMLElement[] {
    const out: HTMLElement[] = [];
    if (this.confirmingDelete === c.id) {
      out.push(
        h("span", { class: "small" }, c.parent_id === null ? "Delete this thread and its replies?" : "Delete this reply?"),
        button("Delete", { class: "btn btn-danger btn-sm", "data-action": "confirm-delete" }, () => {
          this.confirmingDelete = null;
          void this.changeComment(async () => {
            await deleteComment(this.id, c.id);
            return { deleted: c.id };
          }, "Could not delete");
        }),
        button("Keep", { class: "btn btn-sm" }, () => {
          this.confirmingDelete = null;
          this.renderComments();
        }),
      );
      return out;
    }
    if (can(c, "edit") && this.editing?.id !== c.id) {
      out.push(button("Edit", { class: "btn btn-ghost btn-sm", "data-action": "edit" }, () => {
        this.editing = { id: c.id, draft: c.body };
        this.renderComments();
        document.getElementById(`edit-${c.id}`)?.focus();
      }));
    }
    if (can(c, "delete")) {
      out.push(button("Delete", { class: "btn btn-ghost btn-sm", "data-action": "delete" }, () => {
        this.confirmingDelete = c.id;
        this.renderComments();
      }));
    }
    return out;
  }

  private renderThread(thread: Thread, orphaned: boolean): HTMLElement {
    // Once editing stopped (revoked, refused), offer nothing, whatever the last list said.
    const c: Thread = this.caps.stopped ? { ...thread, actions: [], replies: thread.replies.map((r) => ({ ...r, actions: [] })) } : thread;
    const sectionTitle = this.sectionTitle(c.section_id) ?? "";
    const actions: HTMLElement[] = [];
    const open = c.status === "open";
    if (c.suggestion !== null && can(c, "accept")) {
      actions.push(button([icon("check", 15), "Accept"], { class: "btn btn-primary btn-sm", "data-action": "accept" }, () => void this.acceptSuggestion(c)));
    }
    if (c.suggestion !== null && can(c, "reject")) {
      actions.push(button("Reject", { class: "btn btn-sm", "data-action": "reject" }, () => this.decide(c, "reject")));
    }
    if (can(c, "resolve")) {
      actions.push(button("Resolve", { class: "btn btn-ghost btn-sm", "data-action": "resolve" }, () => this.decide(c, "resolve")));
    }
    if (can(c, "reopen")) {
      actions.push(button("Reopen", { class: "btn btn-ghost btn-sm", "data-action": "reopen" }, () => this.decide(c, "reopen")));
    }
    actions.push(...this.ownActions(c));
    let replyForm: HTMLElement | null = null;
    if (open && can(c, "reply")) {
      const replyId = `reply-${c.id}`;
      const input = h("textarea", { id: replyId, class: "input reply-input", rows: 1, placeholder: "Reply…", "aria-label": "Reply" });
      input.value = this.replyDrafts.get(c.id) ?? "";
      input.addEventListener("input", () => this.replyDrafts.set(c.id, input.value));
      const send = h("button", { type: "submit", class: "btn btn-sm" }, "Reply");
      replyForm = h("form", { class: "reply-form" }, input, send);
      replyForm.addEventListener("submit", (event) => {
        event.preventDefault();
        const text = input.value.trim();
        if (!text || send.disabled) return;
        send.disabled = true;
        void this.changeComment(() => replyToComment(this.id, c.id, text), "Could not reply").then((ok) => {
          send.disabled = false;
          if (ok) {
            this.replyDrafts.delete(c.id);
            input.value = "";
          }
        });
      });
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey) {
          event.preventDefault();
          replyForm!.dispatchEvent(new Event("submit", { cancelable: true }));
        }
      });
    }
    const statusText: Record<string, string> = {
      accepted: "Accepted",
      rejected: "Rejected",
      resolved: "Resolved",
    };
    const authorName = c.author?.name ?? "an unknown author";
    const card = h(
      "li",
      {
        class: `thread${c.id === this.activeComment ? " is-active" : ""}${open ? "" : " is-closed"}${c.suggestion !== null ? " is-suggestion" : ""}`,
        "data-comment-id": c.id,
        "data-status": c.status,
        tabindex: 0,
        "aria-label": `${c.suggestion !== null ? "Suggestion" : "Comment"} by ${authorName} on “${c.quote}”`,
      },
      h("p", { class: "thread-kind" }, c.suggestion !== null ? "Suggestion" : "Comment", sectionTitle ? h("span", { class: "muted" }, ` · ${sectionTitle}`) : null),
      c.suggestion !== null
        ? h(
            "p",
            { class: "suggestion" },
            h("del", { class: "quote-del" }, c.quote),
            h("span", { class: "arrow", "aria-hidden": "true" }, " → "),
            h("span", { class: "visually-hidden" }, " replace with "),
            h("ins", { class: "quote-ins" }, c.suggestion || "(delete)"),
          )
        : h("blockquote", { class: "quote" }, c.quote),
      orphaned && open ? h("p", { class: "muted small" }, "The commented text was deleted.") : null,
      this.authorLine(c),
      this.renderBody(c),
      c.replies.length
        ? h(
            "ul",
            { class: "replies" },
            ...c.replies.map((r) => {
              const own = this.ownActions(r);
              return h("li", { "data-comment-id": r.id }, this.authorLine(r), this.renderBody(r), own.length ? h("div", { class: "row thread-actions" }, ...own) : null);
            }),
          )
        : null,
      !open ? h("p", { class: `closed-status status-${c.status}` }, `${statusText[c.status] ?? c.status}${c.decided_by ? ` by ${c.decided_by.name}` : ""}`) : null,
      actions.length ? h("div", { class: "row thread-actions" }, ...actions) : null,
      replyForm,
    );
    card.addEventListener("click", (event) => {
      if ((event.target as HTMLElement).closest("button, textarea, a, input")) return;
      this.focusComment(c.id, true);
    });
    card.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target === card) this.focusComment(c.id, true);
    });
    return card;
  }

  /**
   * Accept a suggestion: the server records the decision first (it may refuse, or someone may
   * have decided meanwhile), then my editor replaces the text, which I may write.
   */
  private async acceptSuggestion(c: Thread): Promise<void> {
    const session = this.session;
    const editor = this.editors.get(c.section_id);
    if (!session || !editor || c.suggestion === null) return;
    if (!resolveRange(session.ydoc, editor.fragment, editor.mapping, c.anchor)) {
      toast("The suggested text no longer exists; reject or resolve it instead.", "error");
      return;
    }
    if (!editor.editable) {
      toast("This section cannot be edited right now.", "error");
      return;
    }
    const ok = await this.changeComment(() => decideComment(this.id, c.id, "accept"), "Could not accept");
    if (!ok || this.destroyed) return;
    const range = resolveRange(session.ydoc, editor.fragment, editor.mapping, c.anchor);
    if (!range || !editor.editable) {
      toast("Accepted, but the text changed meanwhile: apply the replacement by hand.", "error");
      return;
    }
    editor.replace(range.from, range.to, c.suggestion);
    toast("Suggestion applied.");
  }
}

function timeAgo(ms: number): string {
  if (!ms) return "";
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString();
}

export { docHref };
