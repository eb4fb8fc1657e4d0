import {
  acceptInvitation,
  allProgress,
  createDocument,
  declineInvitation,
  listDocuments,
  listMembers,
  myInvitations,
  type DocumentInfo,
  type Invitation,
  type Progress,
} from "../api";
import type { AppContext } from "../context";
import { button, errorText, h, setMessage, toast } from "../dom";
import { icon } from "../icons";
import { formatDate, reasonLabel, relativeTime, roleLabel } from "../labels";
import { docHref, progressHref, timelineHref } from "../routes";
import { verifyBanner } from "./verify-banner";
import { notificationsPanel } from "./notifications-panel";

interface HomeData {
  documents: DocumentInfo[];
  invitations: Invitation[];
  progress: Map<string, Progress>;
  memberCounts: Map<string, number>;
}

async function load(): Promise<HomeData> {
  const [documents, invitations, progressList] = await Promise.all([
    listDocuments(),
    myInvitations(),
    allProgress().catch(() => [] as Progress[]),
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
    progress: new Map(progressList.map((p) => [p.document_id, p])),
    memberCounts: new Map(owned.map((d, i) => [d.id, counts[i]])),
  };
}

function progressBar(p: Progress | undefined): HTMLElement | null {
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

function docCard(doc: DocumentInfo, data: HomeData): HTMLElement {
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

function followCard(p: Progress): HTMLElement {
  const overdue = p.sections.filter((s) => s.overdue).length;
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
      const created = await createDocument(title);
      location.hash = docHref(created.id);
    } catch (error) {
      setMessage(createError, errorText(error));
      createButton.disabled = false;
    }
  });

  const mainCol = h("div", { class: "home-main" }, h("p", { class: "muted", role: "status" }, "Loading your documents…"));
  const sideCol = h("div", { class: "home-side" });
  ctx.mount(
    h(
      "div",
      { class: "page home" },
      h(
        "div",
        { class: "page-header" },
        h("div", {}, heading, h("p", { class: "muted" }, `Signed in as ${ctx.user.name}. Drafts stay private until you invite someone.`)),
        createForm,
      ),
      h("div", { class: "home-grid" }, mainCol, sideCol),
    ),
    heading,
  );

  const refresh = async (): Promise<void> => {
    let data: HomeData;
    try {
      data = await load();
    } catch (error) {
      if (!ctx.alive()) return;
      mainCol.replaceChildren(h("p", { class: "alert alert-error", role: "alert" }, `Could not load your documents: ${errorText(error)}`));
      return;
    }
    if (!ctx.alive()) return;
    const owned = data.documents.filter((d) => d.role === "owner");
    const drafts = owned.filter((d) => (data.memberCounts.get(d.id) ?? 0) === 0);
    const sharedByMe = owned.filter((d) => (data.memberCounts.get(d.id) ?? 0) > 0);
    const sharedWithMe = data.documents.filter((d) => d.role !== "owner" && d.role !== "progress");
    const following = data.documents
      .filter((d) => d.role === "progress")
      .map((d) => data.progress.get(d.id))
      .filter((p): p is Progress => !!p);

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
      h("p", { class: "muted small section-hint" }, "Status and due dates of documents whose text is not shared with you."),
      following.length
        ? h("ul", { class: "doc-list" }, ...following.map(followCard))
        : h("p", { class: "empty" }, "Nothing followed yet."),
    );
    mainCol.replaceChildren(
      listSection("drafts-heading", "My drafts", "Private: only you can see these.", drafts.map((d) => docCard(d, data)), "No private drafts. Create one above."),
      listSection("shared-by-me-heading", "Shared by me", "Yours, with people you invited.", sharedByMe.map((d) => docCard(d, data)), "You have not shared a document yet."),
      listSection("shared-heading", "Shared with me", "Documents others invited you to.", sharedWithMe.map((d) => docCard(d, data)), "Nothing shared with you yet."),
    );
    const notifications = await notificationsPanel(ctx.user);
    if (!ctx.alive()) return;
    sideCol.replaceChildren(...[verifyBanner(ctx.user), inbox, notifications, follow].filter((el): el is HTMLElement => el !== null));
  };
  await refresh();
}
