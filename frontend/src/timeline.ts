/**
 * "How this became social": the sharing log (GET /api/documents/{id}/log) turned into a story.
 * First the private period, then each step (an invitation, a request, a transfer) with who,
 * why and when, and what happened to it afterwards (accepted, declined, role changes,
 * revoked...). Pure, unit-tested.
 */

import type { LogUser, SharingEvent, SharingLog } from "./api";
import { duration, reasonLabel, roleLabel } from "./labels";

export type Outcome = "pending" | "accepted" | "declined" | "withdrawn" | "expired" | "approved" | "refused" | "done";

export interface FollowUp {
  at: string;
  kind: string;
  text: string;
}

export interface TimelineStep {
  id: string;
  kind: "invitation" | "request" | "change" | "ownership";
  at: string;
  /** Who took the step. */
  actor: string;
  /** Whom it concerned (a name, else an email; "an invitation" when the reader may not
   * know who was invited: members other than the owner, for an invitation nobody took up). */
  subject: string;
  title: string;
  role: string | null;
  sections: string[];
  reason: string | null;
  reasonLabel: string | null;
  message: string | null;
  outcome: Outcome;
  outcomeText: string;
  outcomeAt: string | null;
  followUps: FollowUp[];
}

export interface TimelineModel {
  createdAt: string;
  createdBy: string | null;
  /** When the first invitation went out; null while the document is still private. */
  privateUntil: string | null;
  privateFor: string;
  stillPrivate: boolean;
  firstNeed: string | null;
  members: number;
  steps: TimelineStep[];
}

type TitleOf = (sectionId: string) => string | undefined;
/** Where a section sits in the document, to list sections in reading order. */
type OrderOf = (sectionId: string) => number;

const nameOf = (user: LogUser | null | undefined, email?: string | null): string =>
  user?.name || email || user?.email || "someone";

/** The server hides an invitee from members other than the owner until they join. */
const hiddenInvitee = (e: SharingEvent): boolean => !e.subject && !e.subject_email;

/** Requests are matched to their decision by the address asked for, or, where the reader may
 * not see it, by who asked (the requester is the decision's subject). */
const requestKey = (e: SharingEvent, requester: LogUser | null): string =>
  e.subject_email?.toLowerCase() ?? `by:${requester?.id ?? ""}`;

function sectionsText(ids: string[] | null, titleOf: TitleOf, orderOf: OrderOf): string[] {
  return [...(ids ?? [])]
    .sort((a, b) => orderOf(a) - orderOf(b))
    .map((id) => titleOf(id) ?? "a deleted section");
}

function scopeText(role: string | null, sections: string[]): string {
  const r = roleLabel(role).toLowerCase() || "member";
  if (sections.length === 0) return role === "editor" ? `${r} of the whole document` : r;
  return `${r} of ${sections.map((s) => `“${s}”`).join(", ")}`;
}

export function buildTimeline(
  log: SharingLog,
  titleOf: TitleOf = () => undefined,
  orderOf: OrderOf = () => 0,
): TimelineModel {
  const events = [...log.events].sort((a, b) => a.at.localeCompare(b.at) || a.id - b.id);
  const steps: TimelineStep[] = [];
  const byInvitation = new Map<string, TimelineStep>();
  /** The step that gave a person (by user id, or by email before they had one) their access. */
  const bySubject = new Map<string, TimelineStep>();
  const openRequests = new Map<string, TimelineStep[]>();
  let createdBy: string | null = null;

  const remember = (step: TimelineStep, e: SharingEvent): void => {
    if (e.subject?.id) bySubject.set(e.subject.id, step);
    if (e.subject_email) bySubject.set(e.subject_email.toLowerCase(), step);
  };
  const stepFor = (e: SharingEvent): TimelineStep | undefined =>
    (e.invitation_id ? byInvitation.get(e.invitation_id) : undefined) ??
    (e.subject?.id ? bySubject.get(e.subject.id) : undefined) ??
    (e.subject_email ? bySubject.get(e.subject_email.toLowerCase()) : undefined);

  for (const e of events) {
    const actor = nameOf(e.actor);
    const subject = nameOf(e.subject, e.subject_email);
    const sections = sectionsText(e.sections, titleOf, orderOf);
    switch (e.kind) {
      case "created":
        createdBy = actor;
        break;
      case "invited": {
        const hidden = hiddenInvitee(e);
        const step: TimelineStep = {
          id: `event-${e.id}`,
          kind: "invitation",
          at: e.at,
          actor,
          subject: hidden ? "an invitation" : subject,
          title: hidden
            ? `${actor} sent an invitation: ${scopeText(e.role, sections)}`
            : `${actor} invited ${subject} as ${scopeText(e.role, sections)}`,
          role: e.role,
          sections,
          reason: e.reason,
          reasonLabel: e.reason ? reasonLabel(e.reason) : null,
          message: e.message,
          outcome: "pending",
          outcomeText: "Waiting for an answer",
          outcomeAt: null,
          followUps: [],
        };
        steps.push(step);
        if (e.invitation_id) byInvitation.set(e.invitation_id, step);
        remember(step, e);
        break;
      }
      case "accepted":
      case "declined":
      case "withdrawn":
      case "expired": {
        const step = stepFor(e);
        const hidden = hiddenInvitee(e);
        const text = {
          accepted: hidden ? "Accepted" : `Accepted by ${subject}`,
          declined: hidden ? "Declined" : `Declined by ${subject}`,
          withdrawn: `Withdrawn by ${actor}`,
          expired: "Expired without an answer",
        }[e.kind];
        if (step && step.outcome === "pending") {
          step.outcome = e.kind;
          step.outcomeText = text;
          step.outcomeAt = e.at;
          remember(step, e);
        } else if (step) {
          step.followUps.push({ at: e.at, kind: e.kind, text });
        } else {
          steps.push(standalone(e, "change", text, actor, subject, sections));
        }
        break;
      }
      case "role_changed":
      case "scope_changed":
      case "revoked":
      case "left": {
        const text = {
          role_changed: `${actor} changed ${subject}'s role to ${scopeText(e.role, sections)}`,
          scope_changed: `${actor} changed ${subject}'s access to ${scopeText(e.role, sections)}`,
          revoked: `${actor} revoked ${subject}'s access`,
          left: `${subject} left the document`,
        }[e.kind];
        const step = stepFor(e);
        if (step) step.followUps.push({ at: e.at, kind: e.kind, text });
        else steps.push(standalone(e, "change", text, actor, subject, sections));
        break;
      }
      case "ownership_transferred":
        steps.push(standalone(e, "ownership", `${actor} handed ownership to ${subject}`, actor, subject, sections));
        break;
      case "deleted":
        steps.push(standalone(e, "change", `${actor} moved the document to the trash`, actor, subject, sections));
        break;
      case "restored":
        steps.push(standalone(e, "change", `${actor} restored the document from the trash`, actor, subject, sections));
        break;
      case "invite_requested": {
        const step = standalone(
          e,
          "request",
          `${actor} asked the owner to invite ${subject} as ${scopeText(e.role, sections)}`,
          actor,
          subject,
          sections,
        );
        step.outcome = "pending";
        step.outcomeText = "Waiting for the owner";
        steps.push(step);
        const key = requestKey(e, e.actor);
        openRequests.set(key, [...(openRequests.get(key) ?? []), step]);
        break;
      }
      case "invite_request_approved":
      case "invite_request_refused": {
        const step = openRequests.get(requestKey(e, e.subject))?.shift();
        const approved = e.kind === "invite_request_approved";
        const text = approved ? `Approved by ${actor}` : `Refused by ${actor}`;
        if (step) {
          step.outcome = approved ? "approved" : "refused";
          step.outcomeText = text;
          step.outcomeAt = e.at;
        } else {
          steps.push(standalone(e, "request", text, actor, nameOf(null, e.subject_email), sections));
        }
        break;
      }
      default:
        steps.push(standalone(e, "change", `${actor}: ${e.kind.replace(/_/g, " ")}`, actor, subject, sections));
    }
  }

  const { summary } = log;
  return {
    createdAt: summary.created_at,
    createdBy,
    privateUntil: summary.private_until,
    privateFor: duration(summary.private_for_seconds),
    stillPrivate: summary.private_until === null,
    firstNeed: summary.first_need ? reasonLabel(summary.first_need) : null,
    members: summary.members,
    steps,
  };
}

function standalone(
  e: SharingEvent,
  kind: TimelineStep["kind"],
  title: string,
  actor: string,
  subject: string,
  sections: string[],
): TimelineStep {
  return {
    id: `event-${e.id}`,
    kind,
    at: e.at,
    actor,
    subject,
    title,
    role: e.role,
    sections,
    reason: e.reason,
    reasonLabel: e.reason ? reasonLabel(e.reason) : null,
    message: e.message,
    outcome: "done",
    outcomeText: "",
    outcomeAt: null,
    followUps: [],
  };
}
