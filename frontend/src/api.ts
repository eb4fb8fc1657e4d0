/**
 * Calls to the Widen HTTP API. Every request is same-origin, sends the session cookie and
 * JSON bodies; errors become ApiError with a readable message taken from {"detail": ...}.
 */

export interface User {
  id: string;
  email: string;
  name: string;
  /** Only on GET /api/me: whether the address is proven, and whether this server mails. */
  email_verified?: boolean;
  mail_enabled?: boolean;
}

export type Role = "owner" | "editor" | "reviewer" | "viewer" | "progress";
export type InvitableRole = Exclude<Role, "owner">;
export type Reason = "help" | "expertise" | "review" | "progress" | "other";
export type SectionStatus = "draft" | "in_progress" | "in_review" | "done";

export interface DocumentInfo {
  id: string;
  title: string;
  role: Role;
  /** The sections an editor is limited to; null for the whole document. */
  sections: string[] | null;
  owner_id: string;
  created_at: string;
  updated_at: string;
}

export interface Section {
  id: string;
  document_id: string;
  title: string;
  position: number;
  status: SectionStatus;
  assignee_id: string | null;
  due_date: string | null;
  root: string;
  created_at: string;
  updated_at: string;
}

export interface SectionPatch {
  title?: string;
  status?: SectionStatus;
  assignee_id?: string | null;
  due_date?: string | null;
}

export interface Invitation {
  id: string;
  document_id: string;
  document_title: string;
  inviter: User;
  email: string;
  role: InvitableRole;
  sections: string[] | null;
  reason: Reason;
  message: string | null;
  expires_at: string | null;
  status: string;
  created_at: string;
  responded_at: string | null;
  /** The owner's only: the link, just after it was made, and what became of its mail. */
  link?: string | null;
  link_expires_at?: string | null;
  mail?: MailStatus | null;
}

export interface MailStatus {
  status: "queued" | "sent" | "retrying" | "failed";
  attempts: number;
  error: string | null;
  sent_at: string | null;
}

export interface InvitationIn {
  email: string;
  role: InvitableRole;
  sections?: string[] | null;
  reason: Reason;
  message?: string | null;
}

export interface Member {
  user: User;
  role: Role;
  sections: string[] | null;
  reason: Reason | null;
  since: string;
}

/** A person in the sharing log: members other than the owner see no address of anyone who
 * is not a member now (`email` null), and not the invitee of an invitation nobody took up. */
export interface LogUser {
  id: string;
  name: string;
  email: string | null;
}

export interface SharingEvent {
  id: number;
  at: string;
  kind: string;
  actor: LogUser | null;
  subject: LogUser | null;
  subject_email: string | null;
  role: string | null;
  sections: string[] | null;
  reason: string | null;
  message: string | null;
  invitation_id: string | null;
}

export interface SharingSummary {
  created_at: string;
  private_until: string | null;
  private_for_seconds: number;
  first_need: string | null;
  members: number;
}

export interface SharingLog {
  summary: SharingSummary;
  events: SharingEvent[];
}

export interface SectionProgress {
  id: string;
  title: string;
  status: SectionStatus;
  assignee: User | null;
  due_date: string | null;
  overdue: boolean;
  /** null when the server could not count them (the document could not be read). */
  words: number | null;
}

export interface Progress {
  document_id: string;
  title: string;
  role: Role;
  sections_total: number;
  sections_done: number;
  words_total: number | null;
  next_due: string | null;
  last_edit_at: string | null;
  sections: SectionProgress[];
  contributors: { user: User; edits: number; last_edit_at: string }[];
}

export type CommentStatus = "open" | "accepted" | "rejected" | "resolved";
export type CommentAction = "reply" | "edit" | "delete" | "accept" | "reject" | "resolve" | "reopen";
export type CommentDecision = "accept" | "reject" | "resolve" | "reopen";

/** Two Yjs relative positions (base64) in a section's Y.XmlFragment. */
export interface CommentAnchor {
  start: string;
  end: string;
}

/** A comment, suggestion or reply as the server records it. */
export interface CommentRecord {
  id: string;
  document_id: string;
  section_id: string;
  /** Set on a reply: its thread. */
  parent_id: string | null;
  /** Null when the account is gone, or a migrated comment's author was uncertain. */
  author: { id: string; name: string } | null;
  body: string;
  quote: string;
  anchor: CommentAnchor | null;
  suggestion: string | null;
  status: CommentStatus;
  decided_by: { id: string; name: string } | null;
  decided_at: string | null;
  created_at: string;
  updated_at: string;
  edited_at: string | null;
  /** What I may do to it now, as the server's policy says. */
  actions: CommentAction[];
}

export interface NewThread {
  section_id: string;
  anchor: CommentAnchor;
  quote: string;
  body: string;
  suggestion?: string | null;
}

export class ApiError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

interface ValidationItem {
  msg?: unknown;
  loc?: unknown;
}

/** Turns a FastAPI-style `detail` (a string, or a list of {loc, msg} for 422) into text. */
export function formatDetail(detail: unknown): string {
  if (typeof detail === "string") {
    return detail;
  }
  if (Array.isArray(detail)) {
    const lines = detail.map((item: unknown) => {
      if (item && typeof item === "object") {
        const { msg, loc } = item as ValidationItem;
        const field = Array.isArray(loc)
          ? loc.filter((part) => part !== "body" && part !== "query").join(".")
          : "";
        const text = typeof msg === "string" ? msg : JSON.stringify(item);
        return field ? `${field}: ${text}` : text;
      }
      return String(item);
    });
    return lines.join("\n");
  }
  if (detail === undefined || detail === null) {
    return "";
  }
  return JSON.stringify(detail);
}

function fallbackMessage(status: number, statusText: string): string {
  if (status === 401) return "You are not signed in.";
  if (status === 403) return "You do not have access to this.";
  if (status === 404) return "Not found.";
  if (status >= 500) return `The server had a problem (${status}). Please try again.`;
  return `Request failed (${status}${statusText ? ` ${statusText}` : ""}).`;
}

/** Called whenever the API answers 401: the session is gone. Set by the app shell. */
let onUnauthorized: (() => void) | null = null;
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  };
  if (body !== undefined) {
    init.headers = { ...init.headers, "Content-Type": "application/json" };
    init.body = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "Cannot reach the server. Check your connection and try again.");
  }
  const text = await response.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!response.ok) {
    const detail =
      data && typeof data === "object" && "detail" in data
        ? formatDetail((data as { detail: unknown }).detail)
        : "";
    if (response.status === 401 && !path.startsWith("/api/auth/") && path !== "/api/me") {
      onUnauthorized?.();
    }
    throw new ApiError(response.status, detail || fallbackMessage(response.status, response.statusText));
  }
  return data as T;
}

const enc = encodeURIComponent;
const doc = (id: string): string => `/api/documents/${enc(id)}`;

export const getMe = (): Promise<User> => api<User>("GET", "/api/me");
export const register = (name: string, email: string, password: string): Promise<User> =>
  api<User>("POST", "/api/auth/register", { name, email, password });
export const login = (email: string, password: string): Promise<{ token: string; user: User }> =>
  api("POST", "/api/auth/login", { email, password });
export const logout = (): Promise<void> => api<void>("POST", "/api/auth/logout");
export const requestVerification = (): Promise<{ detail: string }> =>
  api("POST", "/api/auth/verification");
export const verifyEmail = (token: string): Promise<User> => api("POST", "/api/auth/verify", { token });
export const requestPasswordReset = (email: string): Promise<{ detail: string }> =>
  api("POST", "/api/auth/password-reset", { email });
export const resetPassword = (token: string, password: string): Promise<void> =>
  api("POST", "/api/auth/password-reset/confirm", { token, password });

export const listDocuments = (): Promise<DocumentInfo[]> => api("GET", "/api/documents");
export const createDocument = (title: string): Promise<DocumentInfo> =>
  api("POST", "/api/documents", { title });
export const getDocument = (id: string): Promise<DocumentInfo> => api("GET", doc(id));
export const renameDocument = (id: string, title: string): Promise<DocumentInfo> =>
  api("PATCH", doc(id), { title });
export const deleteDocument = (id: string): Promise<void> => api("DELETE", doc(id));

export const listSections = (id: string): Promise<Section[]> => api("GET", `${doc(id)}/sections`);
export const createSection = (id: string, title: string): Promise<Section> =>
  api("POST", `${doc(id)}/sections`, { title });
export const updateSection = (id: string, sectionId: string, patch: SectionPatch): Promise<Section> =>
  api("PATCH", `${doc(id)}/sections/${enc(sectionId)}`, patch);
export const deleteSection = (id: string, sectionId: string): Promise<void> =>
  api("DELETE", `${doc(id)}/sections/${enc(sectionId)}`);
export const reorderSections = (id: string, sectionIds: string[]): Promise<Section[]> =>
  api("PUT", `${doc(id)}/sections/order`, { section_ids: sectionIds });

export const myInvitations = (): Promise<Invitation[]> => api("GET", "/api/invitations");
export const acceptInvitation = (invitationId: string, token?: string): Promise<Invitation> =>
  api("POST", `/api/invitations/${enc(invitationId)}/accept`, token ? { token } : undefined);
export const declineInvitation = (invitationId: string): Promise<Invitation> =>
  api("POST", `/api/invitations/${enc(invitationId)}/decline`);

export const documentInvitations = (id: string): Promise<Invitation[]> =>
  api("GET", `${doc(id)}/invitations`);
export const invite = (id: string, body: InvitationIn): Promise<Invitation> =>
  api("POST", `${doc(id)}/invitations`, body);
export const withdrawInvitation = (id: string, invitationId: string): Promise<void> =>
  api("DELETE", `${doc(id)}/invitations/${enc(invitationId)}`);
/** A fresh link for a pending invitation; the earlier one stops working. */
export const newInvitationLink = (id: string, invitationId: string): Promise<Invitation> =>
  api("POST", `${doc(id)}/invitations/${enc(invitationId)}/link`);

export type NotificationKind = "invited" | "invite_request" | "reply" | "mention";
export interface AppNotification {
  id: string;
  kind: NotificationKind;
  document_id: string | null;
  actor_id: string | null;
  text: string;
  /** Where it leads in the web app (a hash route). */
  path: string;
  created_at: string;
  read_at: string | null;
}
export type MailChoices = Record<NotificationKind, boolean>;
export const myNotifications = (): Promise<AppNotification[]> => api("GET", "/api/notifications");
export const markNotificationRead = (id: string): Promise<AppNotification> =>
  api("POST", `/api/notifications/${enc(id)}/read`);
export const mailChoices = (): Promise<MailChoices> => api("GET", "/api/notifications/mail");
export const changeMailChoices = (choices: Partial<MailChoices>): Promise<MailChoices> =>
  api("PATCH", "/api/notifications/mail", choices);
export const mentionable = (id: string): Promise<User[]> => api("GET", `${doc(id)}/mentionable`);

export const listMembers = (id: string): Promise<Member[]> => api("GET", `${doc(id)}/members`);
export const changeMember = (
  id: string,
  userId: string,
  patch: { role?: InvitableRole; sections?: string[] | null },
): Promise<Member> => api("PATCH", `${doc(id)}/members/${enc(userId)}`, patch);
export const removeMember = (id: string, userId: string): Promise<void> =>
  api("DELETE", `${doc(id)}/members/${enc(userId)}`);

export const sharingLog = (id: string): Promise<SharingLog> => api("GET", `${doc(id)}/log`);
export const documentProgress = (id: string): Promise<Progress> => api("GET", `${doc(id)}/progress`);
export const allProgress = (): Promise<Progress[]> => api("GET", "/api/progress");

const comments = (id: string): string => `${doc(id)}/comments`;
export const listComments = (id: string): Promise<CommentRecord[]> => api("GET", comments(id));
export const createThread = (id: string, body: NewThread): Promise<CommentRecord> =>
  api("POST", comments(id), body);
export const replyToComment = (id: string, parentId: string, body: string): Promise<CommentRecord> =>
  api("POST", comments(id), { parent_id: parentId, body });
export const editComment = (id: string, commentId: string, body: string): Promise<CommentRecord> =>
  api("PATCH", `${comments(id)}/${enc(commentId)}`, { body });
export const deleteComment = (id: string, commentId: string): Promise<void> =>
  api("DELETE", `${comments(id)}/${enc(commentId)}`);
export const decideComment = (id: string, commentId: string, decision: CommentDecision): Promise<CommentRecord> =>
  api("POST", `${comments(id)}/${enc(commentId)}/${decision}`);
