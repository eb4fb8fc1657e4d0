import {
  acceptInvitation,
  allProgress,
  declineInvitation,
  listDocuments,
  listMembers,
  listTrash,
  myInvitations,
  type DocumentInfo,
  type Invitation,
  type ProgressSummary,
  type TrashedDocument,
  type User,
} from "../api";
import type { AppContext } from "../context";
import { button, errorText, h, setMessage, toast } from "../dom";
import { icon } from "../icons";
import { formatDate, reasonLabel, relativeTime, roleLabel } from "../labels";
import { live, refreshOn, type LiveEvent } from "../live";
import { createDocumentToWrite } from "../new-document";
import { dashboardHref, docHref, progressHref, timelineHref } from "../routes";
import { STAGE_TEXT, importFile } from "../transfer";
import { removeDocument } from "./remove-document";
import { trashPanel } from "./trash";
import { filterDocuments, sortDocuments } from "../doclist";
import { listControls, searchPanel } from "./search";
import { verifyBanner } from "./verify-banner";
import { notificationsPanel } from "./notifications-panel";

interface HomeData {
  documents: DocumentInfo[];
  invitations: Invitation[];
  progress: Map<string, ProgressSummary>;
  memberCounts: Map<string, number>;
  trash: TrashedDocument[];
  notifications: HTMLElement;
}

/** Documents, invitations, the trash and who shares what; progress (word counts, slower)
 *  comes apart, so a change to the first shows without waiting for the second. */
async function load(progress: Map<string, ProgressSummary>, user: User): Promise<HomeData> {
  const [documents, invitations, trash, notifications] = await Promise.all([
    listDocuments(),
    myInvitations(),
    listTrash(),
    notificationsPanel(user),
  ]);
  // A document of mine is a private draft while nobody else has a grant on it.
  // (GET /api/documents does not say so; ask each owned document's member list.)
  const owned = documents.filter((d) => d.role === "owner");
  const counts = await Promise.all(
    owned.map((d) => listMembers(d.id).then((m) => m.length - 1).catch(() => 0)),
  );
  return {
    documents,
    invitations,
    progress,
    memberCounts: new Map(owned.map((d, i) => [d.id, counts[i]])),
    trash,
    notifications,
  };
}

function progressBar(p: ProgressSummary | undefined): HTMLElement | null {
  if (!p || p.sections_total === 0) return null;
  const pct = Math.round((p.sections_done / p.sections_total) * 100);
  return h(
    "div",
    { class: "mini-progress" },
    h("div", {
      class: "bar",
      role: "progressbar",
      "aria-valuemin": 0,
      "aria-valuemax": p.sections_total,
      "aria-valuenow": p.sections_done,
      "aria-label": "Sections done",
      style: `--pct:${pct}%`,
    }),
    h("span", { class: "muted small" }, `${p.sections_done} of ${p.sections_total} section${p.sections_total === 1 ? "" : "s"} done`),
  );
}

/** Delete (the owner: into the trash) or leave (a member), each after a confirmation. */
function docCardAction(doc: DocumentInfo, me: User, onDone: () => void): HTMLElement {
  const title = doc.title || "Untitled";
  const owner = doc.role === "owner";
  const label = owner ? `Delete “${title}”` : `Leave “${title}”`;
  const action = button(icon(owner ? "trash" : "back", 18), { class: "icon-btn danger", "aria-label": label, title: owner ? "Move to trash" : "Leave" }, async () => {
    if (await removeDocument(doc, me, () => (action.disabled = true))) onDone();
    else action.disabled = false;
  });
  return action;
}

function docCard(doc: DocumentInfo, data: HomeData, me: User, onChanged: () => void): HTMLElement {
  const p = data.progress.get(doc.id);
  const members = data.memberCounts.get(doc.id) ?? 0;
  const badges: HTMLElement[] = [];
  if (doc.role === "owner") {
    badges.push(
      members === 0
        ? h("span", { class: "badge badge-private" }, icon("lock", 13), "Private")
        : h("span", { class: "badge badge-shared" }, icon("users", 13), `Shared with ${members}`),
    );
  } else {
    const scope = doc.role === "editor" && doc.sections ? ` · ${doc.sections.length} section${doc.sections.length === 1 ? "" : "s"}` : "";
    badges.push(h("span", { class: `badge badge-role role-${doc.role}` }, `${roleLabel(doc.role)}${scope}`));
  }
  return h(
    "li",
    { class: "doc-card", "data-document-id": doc.id },
    h("div", { class: "doc-card-icon", "aria-hidden": "true" }, icon("file", 20)),
    h(
      "div",
      { class: "doc-card-body" },
      h("a", { href: docHref(doc.id), class: "doc-link" }, doc.title || "Untitled"),
      h("div", { class: "doc-card-meta" }, ...badges, h("span", { class: "muted small" }, `Edited ${relativeTime(doc.updated_at)}`)),
      progressBar(p),
    ),
    h(
      "div",
      { class: "doc-card-actions" },
      h("a", { href: timelineHref(doc.id), class: "icon-link", title: "How this became social", "aria-label": `Timeline: how “${doc.title}” became social` }, icon("clock", 18)),
      docCardAction(doc, me, onChanged),
    ),
  );
}

function listSection(id: string, title: string, hint: string, items: HTMLElement[], empty: string): HTMLElement {
  return h(
    "section",
    { class: "home-section", "aria-labelledby": id },
    h("div", { class: "section-heading" }, h("h2", { id }, title), h("span", { class: "count" }, String(items.length))),
    h("p", { class: "muted small section-hint" }, hint),
    items.length > 0 ? h("ul", { class: "doc-list" }, ...items) : h("p", { class: "empty" }, empty),
  );
}

function invitationCard(inv: Invitation, onDone: () => void): HTMLElement {
  const error = h("p", { class: "alert alert-error", role: "alert" });
  error.hidden = true;
  const scope = inv.role === "editor" ? (inv.sections ? `${inv.sections.length} section${inv.sections.length === 1 ? "" : "s"}` : "the whole document") : "";
  const act = (kind: "accept" | "decline") => async () => {
    accept.disabled = decline.disabled = true;
    setMessage(error, "");
    try {
      if (kind === "accept") {
        await acceptInvitation(inv.id);
        toast(`You joined “${inv.document_title}”.`);
      } else {
        await declineInvitation(inv.id);
        toast(`You declined the invitation to “${inv.document_title}”.`);
      }
      onDone();
    } catch (e) {
      setMessage(error, errorText(e));
      accept.disabled = decline.disabled = false;
    }
  };
  const accept = button([icon("check", 16), "Accept"], { class: "btn btn-primary btn-sm" }, act("accept"));
  const decline = button("Decline", { class: "btn btn-sm" }, act("decline"));
  return h(
    "li",
    { class: "invite-card", "data-invitation-id": inv.id },
    h(
      "p",
      { class: "invite-title" },
      h("strong", {}, inv.inviter.name),
      " invites you to ",
      h("strong", {}, `“${inv.document_title}”`),
    ),
    h(
      "div",
      { class: "invite-meta" },
      h("span", { class: `badge badge-role role-${inv.role}` }, roleLabel(inv.role) + (scope ? ` · ${scope}` : "")),
      h("span", { class: "badge badge-reason" }, reasonLabel(inv.reason)),
    ),
    inv.message ? h("blockquote", { class: "invite-message" }, inv.message) : null,
    h("p", { class: "muted small" }, `Sent ${relativeTime(inv.created_at)}${inv.expires_at ? ` · expires ${formatDate(inv.expires_at)}` : ""}`),
    error,
    h("div", { class: "row" }, accept, decline),
  );
}

function followCard(p: ProgressSummary, leave: HTMLElement): HTMLElement {
  const overdue = p.late;
  return h(
    "li",
    { class: "doc-card follow-card", "data-document-id": p.document_id },
    h("div", { class: "doc-card-icon", "aria-hidden": "true" }, icon("chart", 20)),
    h(
      "div",
      { class: "doc-card-body" },
      h("a", { href: progressHref(p.document_id), class: "doc-link" }, p.title),
      progressBar(p) ?? h("span", { class: "muted small" }, "No sections yet"),
      h(
        "div",
        { class: "doc-card-meta" },
        h("span", { class: "muted small" }, p.words_total === null ? "words not counted" : `${p.words_total} words`),
        p.next_due ? h("span", { class: "muted small" }, `next due ${formatDate(p.next_due)}`) : null,
        overdue ? h("span", { class: "badge badge-danger" }, `${overdue} overdue`) : null,
        p.last_edit_at ? h("span", { class: "muted small" }, `last edit ${relativeTime(p.last_edit_at)}`) : null,
      ),
    ),
    h("div", { class: "doc-card-actions" }, leave),
  );
}

export async function renderHome(ctx: AppContext): Promise<void> {
  document.title = "Your documents — Widen";
  const heading = h("h1", { tabindex: -1 }, "Your documents");
  const titleInput = h("input", {
    id: "new-doc-title",
    name: "title",
    class: "input",
    type: "text",
    required: true,
    maxlength: 300,
    autocomplete: "off",
    placeholder: "e.g. Grant proposal 2025",
  });
  const createError = h("p", { class: "alert alert-error", role: "alert", id: "create-error" });
  createError.hidden = true;
  const createButton = h("button", { type: "submit", class: "btn btn-primary" }, icon("plus", 16), "Create");
  const createForm = h(
    "form",
    { id: "new-doc-form", class: "new-doc", "aria-label": "New document" },
    h("label", { for: "new-doc-title" }, "New document title"),
    h("div", { class: "row" }, titleInput, createButton),
    createError,
  );
  createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    setMessage(createError, "");
    const title = titleInput.value.trim();
    if (!title) {
      setMessage(createError, "Give the document a title.");
      titleInput.focus();
      return;
    }
    createButton.disabled = true;
    try {
      const created = await createDocumentToWrite(title);
      location.hash = docHref(created.id);
    } catch (error) {
      setMessage(createError, errorText(error));
      createButton.disabled = false;
    }
  });

  const importInput = h("input", { type: "file", id: "import-file", accept: ".docx,.md,.markdown", hidden: true });
  const importStatus = h("p", { class: "muted import-status", role: "status", id: "import-status" });
  const importError = h("p", { class: "alert alert-error", role: "alert", id: "import-error" });
  importStatus.hidden = true;
  importError.hidden = true;
  const importButton = button([icon("file", 16), "Import a file…"], { class: "btn btn-ghost", id: "import-button", title: "A Word (.docx) or Markdown (.md) file becomes a new private document" }, () => importInput.click());
  importInput.addEventListener("change", async () => {
    const file = importInput.files?.[0];
    importInput.value = "";
    if (!file) return;
    setMessage(importError, "");
    importButton.disabled = true;
    try {
      const created = await importFile(file, (stage) => setMessage(importStatus, STAGE_TEXT[stage]));
      location.hash = docHref(created.id);
    } catch (error) {
      setMessage(importStatus, "");
      setMessage(importError, `Could not import ${file.name}: ${errorText(error)}`);
    } finally {
      importButton.disabled = false;
    }
  });
  const importRow = h("div", { class: "import-row" }, importButton, importInput, importStatus, importError);

  const mainCol = h("div", { class: "home-main" }, h("p", { class: "muted", role: "status" }, "Loading your documents…"));
  // Search and the list's sort and filter live in views/search.ts; the roles come from the list.
  const roles = new Map<string, DocumentInfo["role"]>();
  const controls = listControls(() => void refresh());
  const sideCol = h("div", { class: "home-side" });
  ctx.mount(
    h(
      "div",
      { class: "page home" },
      h(
        "div",
        { class: "page-header" },
        h("div", {}, heading, h("p", { class: "muted" }, `Signed in as ${ctx.user.name}. Drafts stay private until you invite someone.`)),
        h("div", {}, createForm, importRow),
      ),
      searchPanel((id) => roles.get(id)),
      h("div", { class: "home-grid" }, h("div", { class: "home-list" }, controls.element, mainCol), sideCol),
    ),
    heading,
  );

  let progress = new Map<string, ProgressSummary>();
  const refresh = async (): Promise<void> => {
    let data: HomeData;
    try {
      data = await load(progress, ctx.user);
    } catch (error) {
      if (!ctx.alive()) return;
      mainCol.replaceChildren(h("p", { class: "alert alert-error", role: "alert" }, `Could not load your documents: ${errorText(error)}`));
      return;
    }
    if (!ctx.alive()) return;
    draw(data);
    const list = await allProgress().catch(() => null);
    if (!list || !ctx.alive()) return;
    progress = new Map(list.map((p) => [p.document_id, p]));
    draw({ ...data, progress });
  };
  let drawn: HomeData | null = null;
  const draw = (data: HomeData): void => {
    drawn = data;
    roles.clear();
    for (const d of data.documents) roles.set(d.id, d.role);
    const shown = sortDocuments(filterDocuments(data.documents, controls.filter()), controls.sort());
    const owned = shown.filter((d) => d.role === "owner");
    const drafts = owned.filter((d) => (data.memberCounts.get(d.id) ?? 0) === 0);
    const sharedByMe = owned.filter((d) => (data.memberCounts.get(d.id) ?? 0) > 0);
    const sharedWithMe = shown.filter((d) => d.role !== "owner" && d.role !== "progress");
    const following = shown
      .filter((d) => d.role === "progress")
      .flatMap((d) => {
        const p = data.progress.get(d.id);
        return p ? [{ doc: d, progress: p }] : [];
      });

    const inbox = h(
      "section",
      { class: "panel inbox", "aria-labelledby": "inbox-heading" },
      h(
        "div",
        { class: "section-heading" },
        h("h2", { id: "inbox-heading" }, icon("mail", 18), "Invitations"),
        h("span", { class: `count${data.invitations.length ? " count-hot" : ""}` }, String(data.invitations.length)),
      ),
      data.invitations.length
        ? h("ul", { class: "invite-list" }, ...data.invitations.map((inv) => invitationCard(inv, () => void refresh())))
        : h("p", { class: "empty" }, "No invitations waiting."),
    );
    const follow = h(
      "section",
      { class: "panel", "aria-labelledby": "follow-heading" },
      h(
        "div",
        { class: "section-heading" },
        h("h2", { id: "follow-heading" }, icon("chart", 18), "Following progress"),
        h("span", { class: "count" }, String(following.length)),
      ),
      h("p", { class: "muted small section-hint" }, "Status and due dates of documents whose text is not shared with you. ", h("a", { href: dashboardHref, id: "dashboard-link" }, "Progress of all your documents")),
      following.length
        ? h("ul", { class: "doc-list" }, ...following.map((f) => followCard(f.progress, docCardAction(f.doc, ctx.user, () => void refresh()))))
        : h("p", { class: "empty" }, "Nothing followed yet."),
    );
    const card = (d: DocumentInfo): HTMLElement => docCard(d, data, ctx.user, () => void refresh());
    mainCol.replaceChildren(
      listSection("drafts-heading", "My drafts", "Private: only you can see these.", drafts.map(card), "No private drafts. Create one above."),
      listSection("shared-by-me-heading", "Shared by me", "Yours, with people you invited.", sharedByMe.map(card), "You have not shared a document yet."),
      listSection("shared-heading", "Shared with me", "Documents others invited you to.", sharedWithMe.map(card), "Nothing shared with you yet."),
    );
    sideCol.replaceChildren(
      ...[verifyBanner(ctx.user), inbox, data.notifications, follow, trashPanel(data.trash, () => void refresh())]
        .filter((el): el is HTMLElement => el !== null),
    );
  };
  // Titles, who shares what (the "Private" / "Shared with" line), invitations and progress
  // change elsewhere: the live channel says when (what became of an invitation's mail is for
  // the share dialog only).
  ctx.onLeave(refreshOn((e) => HOME_EVENTS.has(e.type) && e.change !== "mail", () => void refresh()));
  // Someone joined or left a document of mine: its sharing line changes at once, before the
  // refetch confirms it.
  ctx.onLeave(
    live.subscribe({
      onEvent: (event) => {
        const counts = drawn?.memberCounts;
        const id = event.document_id;
        const step = sharingStep(event);
        if (!drawn || !counts || !id || !counts.has(id) || step === 0) return;
        counts.set(id, Math.max(0, (counts.get(id) ?? 0) + step));
        draw(drawn);
      },
    }),
  );
  await refresh();
}

/** How a member event changes the number of people a document is shared with. */
export function sharingStep(event: LiveEvent): number {
  if (event.type !== "member") return 0;
  if (event.change === "joined") return 1;
  return event.change === "removed" ? -1 : 0;
}

const HOME_EVENTS = new Set(["document", "member", "invitation", "section", "progress", "notification"]);
