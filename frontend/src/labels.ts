/** Human words for the API's codes: reasons, roles, statuses, durations, dates. */

import type { InvitableRole, Reason, Role, SectionStatus } from "./api";

export const REASONS: { value: Reason; label: string; hint: string }[] = [
  { value: "help", label: "Can't finish alone or in time", hint: "Someone to share the writing" },
  { value: "expertise", label: "Needs a specialist", hint: "An expert for one part" },
  { value: "review", label: "Proof-reading", hint: "Comments and suggested changes" },
  { value: "progress", label: "Following progress", hint: "Sees progress, never the text" },
  { value: "other", label: "Other", hint: "Say why in the message" },
];

export function reasonLabel(reason: string | null | undefined): string {
  return REASONS.find((r) => r.value === reason)?.label ?? (reason ? reason : "No reason given");
}

export const ROLES: { value: InvitableRole; label: string; hint: string }[] = [
  { value: "editor", label: "Editor", hint: "Writes — the whole document or chosen sections" },
  { value: "reviewer", label: "Reviewer", hint: "Comments and suggests; changes no text" },
  { value: "viewer", label: "Viewer", hint: "Reads only" },
  { value: "progress", label: "Progress only", hint: "Sees status and due dates, never the text" },
];

export function roleLabel(role: Role | string | null | undefined): string {
  if (role === "owner") return "Owner";
  return ROLES.find((r) => r.value === role)?.label ?? (role ? String(role) : "");
}

/** The role a reason usually calls for, to preselect in the share dialog. */
export function roleForReason(reason: Reason): InvitableRole {
  switch (reason) {
    case "review":
      return "reviewer";
    case "progress":
      return "progress";
    default:
      return "editor";
  }
}

export const STATUSES: { value: SectionStatus; label: string }[] = [
  { value: "draft", label: "Draft" },
  { value: "in_progress", label: "In progress" },
  { value: "in_review", label: "In review" },
  { value: "done", label: "Done" },
];

export function statusLabel(status: string): string {
  return STATUSES.find((s) => s.value === status)?.label ?? status;
}

/** "3 minutes", "2 hours", "5 days": a rough, readable length of time. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (s < 60) return "less than a minute";
  const m = Math.round(s / 60);
  if (m < 60) return plural(m, "minute");
  const h = Math.round(s / 3600);
  if (h < 48) return plural(h, "hour");
  const d = Math.round(s / 86400);
  if (d < 60) return plural(d, "day");
  return plural(Math.round(d / 30), "month");
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "";
  // A bare date (YYYY-MM-DD) is a calendar day, not a UTC instant.
  const date = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? new Date(`${iso}T00:00:00`) : new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

/** "just now", "5 min ago", "3 h ago", else the date. */
export function relativeTime(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return "";
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return "";
  const s = Math.round((now - t) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return formatDate(iso);
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return "?";
  const first = parts[0][0] ?? "";
  const last = parts.length > 1 ? (parts[parts.length - 1][0] ?? "") : "";
  return (first + last).toUpperCase();
}

/** A stable, readable colour for a user (6-digit hex, as y-prosemirror's cursors need). */
// Dark enough for white initials on them (WCAG AA, 4.5:1), distinct enough for cursors.
export const PALETTE = [
  "#c2410c", "#1d4ed8", "#15803d", "#7e22ce", "#be185d", "#0e7490", "#a16207", "#4338ca",
  "#047857", "#b91c1c",
];
export function userColor(id: string): string {
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) | 0;
  return PALETTE[Math.abs(hash) % PALETTE.length];
}
