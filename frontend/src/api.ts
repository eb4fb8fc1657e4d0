/**
 * Calls to the Widen HTTP API. Every request is same-origin, sends the session cookie and
 * JSON bodies; errors become ApiError with a readable message taken from {"detail": ...} and,
 * for a refusal the page may act on, its machine-readable `code`.
 */

import type { components } from "./api-types";

// The shapes below are the server's own, generated from its OpenAPI schema into api-types.ts
// (`make api-types`; CI fails when that file no longer matches the server). Where the schema
// says only `string` for what is one of a few words, the type here names those words.
type Schemas = components["schemas"];
/** `T` with the fields of `U` in place of its own. */
type With<T, U> = Omit<T, keyof U> & U;

/** Someone; on GET /api/me also whether the address is proven, whether this server mails and
 * how long its trash keeps a deleted document. */
export type User = Schemas["UserOut"] &
  Partial<Pick<Schemas["MeOut"], "email_verified" | "mail_enabled" | "trash_days">>;
export type InvitableRole = Schemas["InvitationIn"]["role"];
export type Role = "owner" | InvitableRole;
export type Reason = Schemas["InvitationIn"]["reason"];
export type SectionStatus = Schemas["SectionIn"]["status"];

/** A document in its owner's trash, restorable until `purge_at`. */
export type TrashedDocument = Schemas["TrashedDocumentOut"];
/** An editor asking the owner to invite someone. */
export type InviteRequest = With<Schemas["InviteRequestOut"], {
  role: InvitableRole;
  reason: Reason;
  status: "pending" | "approved" | "refused";
}>;
/** A document as I see it; `sections` lists the sections an editor is limited to (null: all). */
export type DocumentInfo = With<Schemas["DocumentOut"], { role: Role }>;
export type Section = With<Schemas["SectionOut"], { status: SectionStatus }>;
export type SectionPatch = Schemas["SectionPatch"];
export type Invitation = With<Schemas["InvitationOut"], { role: InvitableRole; reason: Reason }>;
export type InvitationIn = Schemas["InvitationIn"];
export type Member = With<Schemas["MemberOut"], { role: Role; reason: Reason | null }>;
/** What became of an invitation's mail (the owner's only). */
export type MailStatus = With<Schemas["MailStatusOut"], {
  status: "queued" | "sent" | "retrying" | "failed";
}>;

/** A person in the sharing log: members other than the owner see no address of anyone who
 * is not a member now (`email` null), and not the invitee of an invitation nobody took up. */
export type LogUser = Schemas["LogUserOut"];
export type SharingEvent = Schemas["SharingEventOut"];
export type SharingSummary = Schemas["SharingSummary"];
export type SharingLog = Schemas["SharingLogOut"];

/** `words` is null when the server could not count them (the document could not be read). */
export type SectionProgress = With<Schemas["SectionProgress"], { status: SectionStatus }>;
export type Progress = With<Schemas["ProgressOut"], { role: Role; sections: SectionProgress[] }>;
export type ProgressFlag = Schemas["FlagOut"];
export type SinceLastVisit = Schemas["SinceLastVisit"];
/** One dashboard row: numbers from the server's aggregates and kept counts; `trend` is the
 * words on each of the last 14 days (null before the first count). */
export type ProgressSummary = With<Schemas["ProgressSummary"], { role: Role }>;

/** An entry of a document's history; `kind` says why it was recorded. */
export type VersionKind = "auto" | "named" | "restore" | "deletion";
export type Version = With<Schemas["VersionOut"], { kind: VersionKind }>;
export type VersionContent = With<Schemas["VersionContentOut"], { kind: VersionKind }>;
export type VersionDiff = Schemas["VersionDiffOut"];
export type DiffRun = Schemas["DiffRun"];

export type CommentStatus = Schemas["CommentStatus"];
export type CommentAction = Schemas["CommentAction"];
export type CommentDecision = Exclude<CommentAction, "reply" | "edit" | "delete">;
/** Two Yjs relative positions (base64) in a section's Y.XmlFragment. */
export type CommentAnchor = Schemas["AnchorOut"];
/** A comment, suggestion or reply as the server records it; `actions` is what I may do to it
 * now, as the server's policy says. */
export type CommentRecord = Schemas["CommentOut"];
export type NewThread = With<Omit<Schemas["CommentIn"], "parent_id">, { section_id: string; anchor: CommentAnchor }>;

export class ApiError extends Error {
  readonly status: number;
  /** The refusal's stable word (`already-member`, `rate-limited`, …) for the page to switch
   * on; null when the server gave none (a 404, a 422). `message` is for people only. */
  readonly code: string | null;
  /** Seconds to wait before trying again, from `Retry-After` (a 429); null without one. */
  readonly retryAfter: number | null;

  constructor(status: number, message: string, code: string | null = null, retryAfter: number | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** `Retry-After` in seconds (the server sends whole seconds; an HTTP date is not used). */
export function parseRetryAfter(header: string | null): number | null {
  if (header === null || !/^\s*\d+\s*$/.test(header)) return null;
  return Number(header);
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
    const code = data && typeof data === "object" && "code" in data && typeof data.code === "string" ? data.code : null;
    throw new ApiError(
      response.status,
      detail || fallbackMessage(response.status, response.statusText),
      code,
      parseRetryAfter(response.headers.get("Retry-After")),
    );
  }
  return data as T;
}

const enc = encodeURIComponent;
const doc = (id: string): string => `/api/documents/${enc(id)}`;

export const getMe = (): Promise<User> => api<User>("GET", "/api/me");
export const register = (name: string, email: string, password: string): Promise<User> =>
  api<User>("POST", "/api/auth/register", { name, email, password });
export const login = (email: string, password: string): Promise<Schemas["LoginOut"]> =>
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
export const listTrash = (): Promise<TrashedDocument[]> => api("GET", "/api/trash");
export const restoreDocument = (id: string): Promise<DocumentInfo> => api("POST", `${doc(id)}/restore`);

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
export const transferOwnership = (id: string, userId: string): Promise<Member[]> =>
  api("POST", `${doc(id)}/transfer`, { user_id: userId });

export const inviteRequests = (id: string): Promise<InviteRequest[]> => api("GET", `${doc(id)}/invite-requests`);
export const answerInviteRequest = (id: string, requestId: string, answer: "approve" | "refuse"): Promise<InviteRequest> =>
  api("POST", `${doc(id)}/invite-requests/${enc(requestId)}/${answer}`);

export const sharingLog = (id: string): Promise<SharingLog> => api("GET", `${doc(id)}/log`);
export const documentProgress = (id: string): Promise<Progress> => api("GET", `${doc(id)}/progress`);
export const allProgress = (): Promise<ProgressSummary[]> => api("GET", "/api/progress");
export type DigestChoices = Schemas["DigestOut"];
export type DigestFrequency = DigestChoices["frequency"];
export const digestChoices = (): Promise<DigestChoices> => api("GET", "/api/progress/digest");
export const changeDigest = (frequency: DigestFrequency): Promise<DigestChoices> =>
  api("PATCH", "/api/progress/digest", { frequency });
export const includeInDigest = (id: string, included: boolean): Promise<DigestChoices> =>
  api("PUT", `/api/progress/digest/documents/${enc(id)}`, { included });

const versions = (id: string): string => `${doc(id)}/versions`;
export const listVersions = (id: string): Promise<Version[]> => api("GET", versions(id));
export const nameVersion = (id: string, name: string): Promise<Version> =>
  api("POST", versions(id), { name });
export const openVersion = (id: string, versionId: string): Promise<VersionContent> =>
  api("GET", `${versions(id)}/${enc(versionId)}`);
export const diffVersion = (id: string, versionId: string): Promise<VersionDiff> =>
  api("GET", `${versions(id)}/${enc(versionId)}/diff`);
/** Restore some sections of a version (all of them when `sections` is omitted). */
export const restoreVersion = (id: string, versionId: string, sections?: string[]): Promise<Version> =>
  api("POST", `${versions(id)}/${enc(versionId)}/restore`, sections ? { sections } : {});

const comments = (id: string): string => `${doc(id)}/comments`;
export const listComments = (id: string): Promise<CommentRecord[]> => api("GET", comments(id));
export const createThread = (id: string, body: NewThread): Promise<CommentRecord> =>
  api("POST", comments(id), body);
export const replyToComment = (id: string, parentId: string, body: string, mentions: string[] = []): Promise<CommentRecord> =>
  api("POST", comments(id), { parent_id: parentId, body, mentions });
export const editComment = (id: string, commentId: string, body: string): Promise<CommentRecord> =>
  api("PATCH", `${comments(id)}/${enc(commentId)}`, { body });
export const deleteComment = (id: string, commentId: string): Promise<void> =>
  api("DELETE", `${comments(id)}/${enc(commentId)}`);
export const decideComment = (id: string, commentId: string, decision: CommentDecision): Promise<CommentRecord> =>
  api("POST", `${comments(id)}/${enc(commentId)}/${decision}`);
