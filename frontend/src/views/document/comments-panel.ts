/**
 * The comments panel: open (and, on request, closed) threads in document order, the composer
 * for a new comment or suggestion, replies, edits, deletions and decisions, and the highlights
 * the section editors draw for them. The server lists what I may do to each comment. A comment
 * or reply may @mention the members who read the text; they are notified.
 */

import {
  createThread,
  decideComment,
  deleteComment,
  editComment,
  listComments,
  mentionable,
  replyToComment,
  type CommentDecision,
  type CommentRecord,
} from "../../api";
import { button, errorText, h, setMessage, toast } from "../../dom";
import { icon } from "../../icons";
import { initials, userColor } from "../../labels";
import { SectionEditor, type Highlight } from "../../editor/section-editor";
import { CommentFeed, anchorRange, can, createdMs, resolveRange, type CommentAnchor, type Thread } from "../../comments";
import { mentionedIds, type Mentionable } from "../../mentions";
import { MentionPicker } from "./mention-picker";
import type { SectionList } from "./sections";
import type { DocState } from "./state";

// Comments are re-read when the live event channel says one changed (the page calls
// `refresh`), and at once when a peer's page bumps `commentsRev` in its awareness state: never
// polled.

interface Selected {
  editor: SectionEditor;
  sectionId: string;
  from: number;
  to: number;
  text: string;
}

export class CommentsPanel {
  readonly el = h("aside", { class: "comments-panel", id: "comments-panel", "aria-labelledby": "comments-heading" });
  private readonly state: DocState;
  private readonly list: SectionList;
  /** Called after I changed a comment (the page tells the others to re-read theirs). */
  private readonly onChanged: () => void;
  private readonly feed: CommentFeed;
  private threads: Thread[] = [];
  private activeComment: string | null = null;
  /** The new comment or suggestion being written; its drafts outlive a redraw of the panel. */
  private composer: { mode: "comment" | "suggest"; selected: Selected; anchor: CommentAnchor; body: string; suggestion: string } | null = null;
  /** Whom a comment may mention (members who read the text, not me): read when a comment or
   *  reply is first written in, and anew for each new comment. */
  private people: Mentionable[] = [];
  private peopleLoad: Promise<void> | null = null;
  /** The person chosen from the list for a name, should two people share it. */
  private readonly picked = new Map<string, string>();
  private readonly replyDrafts = new Map<string, string>();
  /** The comment whose body I am editing, and the one whose deletion awaits confirmation. */
  private editing: { id: string; draft: string } | null = null;
  private confirmingDelete: string | null = null;
  private showResolved = false;
  private renderQueued = false;

  constructor(state: DocState, list: SectionList, onChanged: () => void) {
    this.state = state;
    this.list = list;
    this.onChanged = onChanged;
    this.feed = new CommentFeed(
      () => listComments(this.state.id),
      (threads) => {
        this.threads = threads;
        this.scheduleRender();
      },
    );
  }

  start(): void {
    void this.feed.start();
  }

  stop(): void {
    this.feed.stop();
  }

  /** Re-read the comments (someone changed one, or what I may do to them changed). */
  refresh(): void {
    void this.feed.refresh();
  }

  /** Drop a draft tied to the editors being replaced or stopped. */
  dropComposer(): void {
    this.composer = null;
  }

  /** Show a comment record the server returned, and tell the others to re-read theirs. */
  private commentChanged(record: CommentRecord | { deleted: string }): void {
    if ("deleted" in record) this.feed.remove(record.deleted);
    else this.feed.put(record);
    this.onChanged();
  }

  /** Whether some text is selected in a section (Comment and Suggest need it). */
  hasSelection(): boolean {
    return this.currentSelection() !== null;
  }

  private currentSelection(): Selected | null {
    for (const [sectionId, editor] of this.list.editors) {
      const sel = editor.selection();
      if (sel) return { editor, sectionId, ...sel };
    }
    return null;
  }

  startComposer(mode: "comment" | "suggest"): void {
    if (!this.state.caps.canComment) return;
    const selected = this.currentSelection();
    if (!selected) {
      toast("Select some text first.", "error");
      return;
    }
    const anchor = anchorRange(selected.editor.fragment, selected.editor.mapping, selected.from, selected.to);
    this.composer = { mode, selected, anchor, body: "", suggestion: selected.text };
    this.peopleLoad = null;
    this.render();
    this.el.querySelector<HTMLTextAreaElement>("#composer-body")?.focus();
  }

  private loadPeople(): Promise<void> {
    return (this.peopleLoad ??= mentionable(this.state.id).then(
      (people) => {
        this.people = people.filter((p) => p.id !== this.state.ctx.user.id);
      },
      (err: unknown) => {
        this.peopleLoad = null;
        if (!this.state.destroyed) toast(`Could not load the people you can mention: ${errorText(err)}`, "error");
      },
    ));
  }

  /** Offer people to mention while `input` is written in; call before its own key handlers. */
  private mentionsIn(input: HTMLTextAreaElement): HTMLElement {
    const picker = new MentionPicker(input, () => this.people, (person) => this.picked.set(person.name, person.id));
    // An @ typed before the people arrived is answered once they have.
    input.addEventListener("focus", () => void this.loadPeople().then(() => document.activeElement === input && picker.update()));
    return h("div", { class: "mention-field" }, input, picker.el);
  }

  private mentionsOf(text: string): string[] {
    return mentionedIds(text, this.people, this.picked);
  }

  highlightsFor(sectionId: string, editor: SectionEditor): Highlight[] {
    const session = this.state.session;
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
      if (this.state.destroyed) return;
      this.render();
    });
  }

  focusComment(commentId: string, scroll: boolean): void {
    this.activeComment = commentId;
    this.render();
    const card = this.el.querySelector<HTMLElement>(`[data-comment-id="${CSS.escape(commentId)}"]`);
    card?.scrollIntoView({ block: "nearest", behavior: "smooth" });
    if (scroll && this.state.session) {
      const c = this.threads.find((x) => x.id === commentId);
      const editor = c ? this.list.editors.get(c.section_id) : undefined;
      const range = c && editor ? resolveRange(this.state.session.ydoc, editor.fragment, editor.mapping, c.anchor) : null;
      if (editor && range) editor.scrollTo(range.from);
    }
  }

  render(): void {
    const session = this.state.session;
    if (!session || this.state.destroyed) return;
    for (const editor of this.list.editors.values()) editor.refreshHighlights();

    const focusedId = (document.activeElement as HTMLElement | null)?.id ?? "";
    const order = new Map([...this.state.sections].sort((a, b) => a.position - b.position).map((s, i) => [s.id, i]));
    const all = this.threads.filter((c) => order.has(c.section_id));
    const positions = new Map<string, number>();
    for (const c of all) {
      const editor = this.list.editors.get(c.section_id);
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
      this.render();
    });
    toggle.hidden = sorted.length === open.length && !this.showResolved;

    const items: HTMLElement[] = [];
    if (this.composer) items.push(this.renderComposer());
    for (const c of shown) items.push(this.renderThread(c, positions.get(c.id) === Number.MAX_SAFE_INTEGER));

    let hint = "";
    if (!this.state.caps.canComment) hint = this.state.caps.stopped ? "" : "You can read comments; you cannot add any.";
    else if (!this.composer && shown.length === 0) hint = "Select text in a section, then choose Comment or Suggest.";

    this.el.replaceChildren(
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
    const body = h("textarea", { id: "composer-body", class: "input", rows: suggest ? 2 : 3, placeholder: suggest ? "Why? (optional)" : "Your comment; @ mentions someone" });
    body.value = composer.body;
    body.addEventListener("input", () => (composer.body = body.value));
    const replacement = suggest ? h("textarea", { id: "composer-suggestion", class: "input", rows: 2 }) : null;
    if (replacement) {
      replacement.value = composer.suggestion;
      replacement.addEventListener("input", () => (composer.suggestion = replacement.value));
    }
    const error = h("p", { class: "alert alert-error", role: "alert" });
    error.hidden = true;
    const submit = h("button", { type: "submit", class: "btn btn-primary btn-sm", id: "composer-submit" }, suggest ? "Suggest" : "Comment");
    const form = h(
      "form",
      { class: "thread composer", "aria-label": suggest ? "Suggest a change" : "New comment" },
      h("p", { class: "thread-kind" }, suggest ? "Suggest a replacement" : "New comment"),
      h("blockquote", { class: "quote" }, composer.selected.text),
      replacement ? h("div", { class: "field" }, h("label", { for: "composer-suggestion" }, "Replace with"), replacement) : null,
      h("div", { class: "field" }, h("label", { for: "composer-body", class: suggest ? "" : "visually-hidden" }, suggest ? "Note" : "Comment"), this.mentionsIn(body)),
      error,
      h(
        "div",
        { class: "row end" },
        button("Cancel", { class: "btn btn-sm" }, () => {
          this.composer = null;
          this.render();
        }),
        submit,
      ),
    );
    form.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        this.composer = null;
        this.render();
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
      if (!this.state.caps.canComment || submit.disabled) return;
      submit.disabled = true;
      createThread(this.state.id, {
        section_id: composer.selected.sectionId,
        anchor: composer.anchor,
        quote: composer.selected.text,
        body: text,
        suggestion,
        mentions: this.mentionsOf(text),
      }).then(
        (record) => {
          if (this.state.destroyed) return;
          if (this.composer === composer) this.composer = null;
          this.activeComment = record.id;
          this.commentChanged(record);
          this.render();
          this.el.querySelector<HTMLElement>(`[data-comment-id="${CSS.escape(record.id)}"]`)?.focus();
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
      if (!this.state.destroyed) this.commentChanged(result);
      return true;
    } catch (err) {
      toast(`${failure}: ${errorText(err)}`, "error");
      void this.feed.refresh();
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
    void this.changeComment(() => decideComment(this.state.id, c.id, decision), failures[decision]);
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
          this.render();
        }),
        save,
      ),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (save.disabled) return;
      save.disabled = true;
      void this.changeComment(() => editComment(this.state.id, c.id, input.value), "Could not save").then((ok) => {
        if (ok && this.editing?.id === c.id) this.editing = null;
        save.disabled = false;
        this.render();
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
            await deleteComment(this.state.id, c.id);
            return { deleted: c.id };
          }, "Could not delete");
        }),
        button("Keep", { class: "btn btn-sm" }, () => {
          this.confirmingDelete = null;
          this.render();
        }),
      );
      return out;
    }
    if (can(c, "edit") && this.editing?.id !== c.id) {
      out.push(button("Edit", { class: "btn btn-ghost btn-sm", "data-action": "edit" }, () => {
        this.editing = { id: c.id, draft: c.body };
        this.render();
        document.getElementById(`edit-${c.id}`)?.focus();
      }));
    }
    if (can(c, "delete")) {
      out.push(button("Delete", { class: "btn btn-ghost btn-sm", "data-action": "delete" }, () => {
        this.confirmingDelete = c.id;
        this.render();
      }));
    }
    return out;
  }

  private renderThread(thread: Thread, orphaned: boolean): HTMLElement {
    // Once editing stopped (revoked, refused), offer nothing, whatever the last list said.
    const c: Thread = this.state.caps.stopped ? { ...thread, actions: [], replies: thread.replies.map((r) => ({ ...r, actions: [] })) } : thread;
    const sectionTitle = this.state.sectionTitle(c.section_id) ?? "";
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
      replyForm = h("form", { class: "reply-form" }, this.mentionsIn(input), send);
      replyForm.addEventListener("submit", (event) => {
        event.preventDefault();
        const text = input.value.trim();
        if (!text || send.disabled) return;
        send.disabled = true;
        void this.changeComment(() => replyToComment(this.state.id, c.id, text, this.mentionsOf(text)), "Could not reply").then((ok) => {
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
    const session = this.state.session;
    const editor = this.list.editors.get(c.section_id);
    if (!session || !editor || c.suggestion === null) return;
    if (!resolveRange(session.ydoc, editor.fragment, editor.mapping, c.anchor)) {
      toast("The suggested text no longer exists; reject or resolve it instead.", "error");
      return;
    }
    if (!editor.editable) {
      toast("This section cannot be edited right now.", "error");
      return;
    }
    const ok = await this.changeComment(() => decideComment(this.state.id, c.id, "accept"), "Could not accept");
    if (!ok || this.state.destroyed) return;
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
