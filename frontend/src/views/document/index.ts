/**
 * The document page: sections as rich-text editors over one Y.Doc and one websocket, with
 * presence, comments and suggestions, section metadata, and what the server says about my
 * access (4403/4404/4401 stop; 4409 re-reads it).
 *
 * This module puts the page together and keeps it in step with the server; each part of the
 * page (title, access line, connection, presence, actions, toolbar, sections, comments) is a
 * component of its own that draws from the shared DocState.
 */

import { ApiError, getDocument, listMembers, listSections, type DocumentInfo } from "../../api";
import type { AppContext } from "../../context";
import { button, errorText, h, setMessage } from "../../dom";
import { icon } from "../../icons";
import { userColor } from "../../labels";
import { capabilities, describeAccess, writeScopeNarrowed } from "../../permissions";
import { MESSAGES, type CloseAction, type ConnectionModel } from "../../connection";
import { takeJustCreated } from "../../new-document";
import { DocSession } from "../../session";
import { AccessLine } from "./access-line";
import { DocActions } from "./actions";
import { followDocument, sectionRemovedNotice } from "./live-events";
import { CommentsPanel } from "./comments-panel";
import { ConnectionStatus } from "./connection-status";
import { PresenceList } from "./presence-list";
import { SectionList } from "./sections";
import { DocState } from "./state";
import { TitleRow } from "./title";
import { Toolbar } from "./toolbar";
import { renderProgressOnly, renderUnavailable } from "./unavailable";

const NOW_PROGRESS_ONLY = "Your access changed: you now follow this document's progress only.";

export async function renderDocument(ctx: AppContext, id: string): Promise<void> {
  const page = new DocumentPage(ctx, id);
  ctx.onLeave(() => page.destroy());
  await page.start();
}

class DocumentPage {
  private readonly state: DocState;
  private readonly ctx: AppContext;
  private readonly title: TitleRow;
  private readonly accessLine: AccessLine;
  private readonly connection = new ConnectionStatus();
  private readonly presence: PresenceList;
  private readonly actions: DocActions;
  private readonly sections: SectionList;
  private readonly comments: CommentsPanel;
  private readonly toolbar: Toolbar;
  private readonly alertBox = h("div", { class: "alert alert-error doc-alert", role: "alert", id: "doc-alert" });
  private readonly noticeBox = h("div", { class: "alert alert-info doc-notice", role: "status", id: "doc-notice" });
  private readonly seenRevs = new Map<number, number>();
  private readonly seenCommentRevs = new Map<number, number>();
  private metaRefreshQueued = false;
  /** A document just created here: the caret goes into its first section once it is live. */
  private caretPending: boolean;
  private started = false;
  private cleanup: () => void = () => {};

  constructor(ctx: AppContext, id: string) {
    this.ctx = ctx;
    this.state = new DocState(ctx, id);
    this.caretPending = takeJustCreated(id);
    this.title = new TitleRow(this.state);
    this.accessLine = new AccessLine(this.state);
    this.presence = new PresenceList(this.state);
    this.actions = new DocActions(this.state, () => this.refreshMeta());
    this.sections = new SectionList(this.state, {
      highlightsFor: (sectionId, editor) => this.comments.highlightsFor(sectionId, editor),
      onHighlightClick: (commentId) => this.comments.focusComment(commentId, false),
      onActiveEditor: () => this.toolbar.update(),
      onMetadataChanged: () => this.bumpRev(),
      onRendered: () => {
        this.accessLine.render();
        this.toolbar.update();
      },
    });
    this.comments = new CommentsPanel(this.state, this.sections, () => this.bumpCommentsRev());
    this.toolbar = new Toolbar(this.state, this.sections, {
      startComposer: (mode) => this.comments.startComposer(mode),
      hasSelection: () => this.comments.hasSelection(),
    });
    this.alertBox.hidden = true;
    this.noticeBox.hidden = true;
  }

  // ---------------------------------------------------------------- start and stop

  async start(): Promise<void> {
    const { ctx, state } = this;
    ctx.mount(h("div", { class: "page" }, h("p", { class: "muted", role: "status" }, "Opening the document…")));
    try {
      state.info = await getDocument(state.id);
    } catch (error) {
      if (!ctx.alive()) return;
      renderUnavailable(ctx, error instanceof ApiError && error.status === 404 ? MESSAGES["not-found"] : `Could not open the document: ${errorText(error)}`);
      return;
    }
    if (!ctx.alive()) return;
    document.title = `${state.info.title} — Widen`;
    if (state.info.role === "progress") {
      await this.showProgressOnly(null);
      return;
    }
    state.caps = capabilities(state.info);
    try {
      [state.sections, state.members] = await Promise.all([listSections(state.id), listMembers(state.id)]);
    } catch (error) {
      if (!ctx.alive()) return;
      renderUnavailable(ctx, error instanceof ApiError && error.status === 404 ? MESSAGES["not-found"] : `Could not open the document: ${errorText(error)}`);
      return;
    }
    if (!ctx.alive()) return;
    this.buildPage();
    this.started = true;
    this.openSession();
    this.comments.start();
    const unfollow = this.followLiveEvents();
    const onKey = (event: KeyboardEvent): void => {
      if ((event.ctrlKey || event.metaKey) && event.altKey && event.key.toLowerCase() === "m") {
        event.preventDefault();
        this.comments.startComposer("comment");
      }
    };
    document.addEventListener("keydown", onKey);
    const onSelectionChange = (): void => this.toolbar.update();
    document.addEventListener("selectionchange", onSelectionChange);
    this.cleanup = () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("selectionchange", onSelectionChange);
      unfollow();
    };
  }

  destroy(): void {
    this.state.destroyed = true;
    this.cleanup();
    if (this.started) this.comments.stop();
    this.sections.destroyEditors();
    this.state.session?.destroy();
    this.state.session = null;
  }

  /** Changes made elsewhere (titles, sections, members, comments, revocation) arrive on the
   *  live event channel; the page never polls for them. */
  private followLiveEvents(): () => void {
    const { state, ctx } = this;
    return followDocument(state.id, ctx.user.id, {
      renamed: (title) => {
        state.info = { ...state.info, title };
        document.title = `${title} — Widen`;
        // Not while I am renaming it myself: my input stays.
        if (!this.title.el.querySelector("input")) this.title.render();
      },
      deleted: () => {
        if (state.destroyed || state.leaving) return;
        this.sections.destroyEditors();
        // Its socket's 4404 may follow: it would only say less (that it does not exist).
        state.session?.destroy();
        state.session = null;
        renderUnavailable(ctx, "This document was deleted by its owner.");
      },
      metadataChanged: () => this.refreshMeta(0),
      sectionRemoved: (sectionId, title, by) => {
        if (!by || by.id === ctx.user.id) return;
        const card = document.querySelector(`[data-section-id="${CSS.escape(sectionId)}"]`);
        const wasIn = !!card && card.contains(document.activeElement);
        setMessage(this.noticeBox, sectionRemovedNotice(title || (state.sectionTitle(sectionId) ?? ""), by, wasIn));
      },
      commentsChanged: () => this.comments.refresh(),
      revoked: () => {
        if (!state.caps.stopped && !state.leaving) this.stopEditing(MESSAGES.revoked);
      },
      resync: () => {
        this.refreshMeta(0);
        this.comments.refresh();
      },
    });
  }

  private async showProgressOnly(notice: string | null): Promise<void> {
    await renderProgressOnly(this.ctx, this.state.id, this.state.info.title, notice);
  }

  // ---------------------------------------------------------------- the live session

  private openSession(): void {
    const me = this.ctx.user;
    const session = new DocSession(this.state.id, { id: me.id, name: me.name, color: userColor(me.id) }, {
      onModel: (model) => this.onConnection(model),
      onStop: (action) => this.onStop(action),
      onAccessChanged: () => void this.reconcileAccess("changed"),
      onBackOnline: () => void this.reconcileAccess("reconnect"),
      onAwareness: () => this.onAwareness(),
    });
    this.state.session = session;
    this.sections.ensureEditors();
    this.onConnection(session.model);
    session.connect();
    this.comments.render();
  }

  /** Start again from an empty Y.Doc (after my write access narrowed). */
  private rebuildSession(): void {
    this.sections.destroyEditors();
    this.state.session?.destroy();
    this.state.session = null;
    this.comments.dropComposer();
    this.openSession();
  }

  private onConnection(model: ConnectionModel): void {
    this.connection.render(model);
    // Sections become editable after the first sync, and stay so offline.
    this.sections.refreshEditable();
    this.toolbar.update();
    if (this.caretPending && model.everSynced) {
      this.caretPending = false;
      const first = this.state.ordered()[0];
      if (first) this.sections.editors.get(first.id)?.view.focus();
    }
  }

  private onStop(action: Extract<CloseAction, { kind: "stop" }>): void {
    if (this.state.destroyed || this.state.leaving) return;
    switch (action.reason) {
      case "signed-out":
        this.ctx.signedOut(action.message);
        return;
      case "not-found":
        this.sections.destroyEditors();
        renderUnavailable(this.ctx, action.message);
        return;
      case "progress-only":
        this.sections.destroyEditors();
        void this.showProgressOnly(null);
        return;
      case "revoked":
        this.stopEditing(action.message);
        // A move to "progress" also ends the socket as a revocation: look, and say so.
        void getDocument(this.state.id)
          .then(async (info) => {
            if (this.state.destroyed || info.role !== "progress") return;
            this.state.info = info;
            this.sections.destroyEditors();
            await this.showProgressOnly(NOW_PROGRESS_ONLY);
          })
          .catch(() => undefined);
        return;
      default:
        this.stopEditing(action.message, action.reason === "refused-write" || action.reason === "too-big");
    }
  }

  private stopEditing(message: string, offerReload = false): void {
    this.state.caps = capabilities(this.state.info, { stopped: true });
    this.state.session?.stop();
    this.comments.dropComposer();
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
    const { state } = this;
    if (state.destroyed || !state.session) return;
    let info: DocumentInfo;
    try {
      info = await getDocument(state.id);
    } catch (error) {
      if (state.destroyed) return;
      if (error instanceof ApiError && error.status === 404) {
        this.stopEditing(MESSAGES.revoked);
      } else {
        // Could not ask: reconnect anyway; the server will tell us if need be.
        state.session?.resume();
      }
      return;
    }
    if (state.destroyed || !state.session) return;
    if (info.role === "progress") {
      state.info = info;
      this.sections.destroyEditors();
      state.session.destroy();
      state.session = null;
      await this.showProgressOnly(NOW_PROGRESS_ONLY);
      return;
    }
    const next = capabilities(info);
    const narrowed = writeScopeNarrowed(state.caps, next);
    const changed = info.role !== state.info.role || JSON.stringify(info.sections) !== JSON.stringify(state.info.sections);
    const unsent = state.session.model.unsent > 0;
    state.info = info;
    state.caps = next;
    if (trigger === "changed" || changed) {
      try {
        [state.sections, state.members] = await Promise.all([listSections(state.id), listMembers(state.id)]);
      } catch {
        /* keep what we have */
      }
      if (state.destroyed || !state.session) return;
    }
    if (narrowed) {
      // Edits I may no longer make would be refused: start again from the server's copy.
      this.rebuildSession();
    } else {
      state.session.resume();
    }
    if (trigger === "changed" || changed) {
      // What I may do to each comment changed too: the server lists it anew.
      this.comments.refresh();
      let notice = `Your access changed: ${describeAccess(info, (sid) => state.sectionTitle(sid))}`;
      if (narrowed && unsent) notice += " Your unsent edits were discarded, since you can no longer make them.";
      setMessage(this.noticeBox, notice);
      this.applyCapabilities();
    }
  }

  private onAwareness(): void {
    this.renderPresence();
    // Someone changed section metadata (titles, order, status): they bump `rev`.
    const session = this.state.session;
    const states = session?.awareness.getStates();
    if (!states || !session) return;
    const mine = session.ydoc.clientID;
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
    if (commentsChanged) this.comments.refresh();
  }

  /** Tell the others that section metadata changed (they re-read it). */
  private bumpRev(): void {
    this.state.session?.awareness.setLocalStateField("rev", Date.now());
  }

  /** Tell the others that a comment changed (they re-read the comments). */
  private bumpCommentsRev(): void {
    this.state.session?.awareness.setLocalStateField("commentsRev", Date.now());
  }

  /** Re-read sections and members; what asks within `delayMs` shares the one read (the
   *  live channel asks at once, awareness bumps a little later, as they come in bursts). */
  private refreshMeta(delayMs = 150): void {
    const { state } = this;
    if (this.metaRefreshQueued || state.destroyed || state.caps.stopped) return;
    this.metaRefreshQueued = true;
    setTimeout(async () => {
      this.metaRefreshQueued = false;
      try {
        const [sections, members] = await Promise.all([listSections(state.id), listMembers(state.id)]);
        if (state.destroyed) return;
        state.sections = sections;
        state.members = members;
        this.sections.render();
        this.renderPresence();
        this.comments.render();
        this.accessLine.render();
      } catch {
        /* the socket's close code tells us about lost access */
      }
    }, delayMs);
  }

  // ---------------------------------------------------------------- building the page

  private renderPresence(): void {
    if (!this.state.session) return;
    this.sections.showWhoIsHere(this.presence.render());
  }

  private buildPage(): void {
    this.title.render();
    this.actions.render();
    this.sections.render();
    this.sections.renderAddRow();
    this.accessLine.render();
    const root = h("div", { class: "page doc-page" });
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
            h(
              "div",
              { class: "doc-heading" },
              h("a", { href: "#/", class: "back-link" }, icon("back", 16), "Your documents"),
              this.title.el,
              this.accessLine.el,
              this.connection.note,
            ),
            h("div", { class: "doc-status" }, this.presence.el, this.connection.badge, this.actions.el),
          ),
        ),
        root,
      ),
      this.title.heading,
    );
    root.replaceChildren(
      this.alertBox,
      this.noticeBox,
      h(
        "div",
        { class: "doc-layout" },
        h("div", { class: "doc-main" }, this.toolbar.el, this.sections.el, this.sections.addRow),
        this.comments.el,
      ),
    );
    this.renderPresence();
  }

  /** Re-render everything that depends on what I may do. */
  private applyCapabilities(): void {
    this.title.render();
    this.actions.render();
    this.sections.renderAddRow();
    this.sections.render();
    this.sections.refreshEditable();
    this.comments.render();
    this.toolbar.update();
  }
}
