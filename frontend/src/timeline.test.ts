import { describe, expect, it } from "vitest";
import type { LogUser, SharingEvent, SharingLog, User } from "./api";
import { buildTimeline } from "./timeline";

const ada: User = { id: "u-ada", email: "ada@example.org", name: "Ada" };
const sam: User = { id: "u-sam", email: "sam@example.org", name: "Sam" };
const rex: User = { id: "u-rex", email: "rex@example.org", name: "Rex" };

let nextId = 1;
function ev(kind: string, at: string, extra: Partial<SharingEvent> = {}): SharingEvent {
  return {
    id: nextId++,
    at,
    kind,
    actor: ada,
    subject: null,
    subject_email: null,
    role: null,
    sections: null,
    reason: null,
    message: null,
    invitation_id: null,
    ...extra,
  };
}

function log(events: SharingEvent[], privateUntil: string | null, seconds = 600): SharingLog {
  return {
    summary: {
      created_at: "2025-01-01T10:00:00Z",
      private_until: privateUntil,
      private_for_seconds: seconds,
      first_need: privateUntil ? "expertise" : null,
      members: 2,
    },
    events,
  };
}

describe("buildTimeline", () => {
  it("starts with the private period of a document never shared", () => {
    const model = buildTimeline(log([ev("created", "2025-01-01T10:00:00Z")], null, 7200));
    expect(model.stillPrivate).toBe(true);
    expect(model.privateFor).toBe("2 hours");
    expect(model.createdBy).toBe("Ada");
    expect(model.steps).toEqual([]);
  });

  it("tells each invitation with who, why, scope and what happened to it", () => {
    const titles: Record<string, string> = { s1: "Methods" };
    const model = buildTimeline(
      log(
        [
          ev("created", "2025-01-01T10:00:00Z"),
          ev("invited", "2025-01-01T10:10:00Z", {
            subject_email: "sam@example.org",
            role: "editor",
            sections: ["s1"],
            reason: "expertise",
            message: "You know the protocol.",
            invitation_id: "inv1",
          }),
          ev("invited", "2025-01-01T10:11:00Z", { subject: rex, subject_email: "rex@example.org", role: "reviewer", reason: "review", invitation_id: "inv2" }),
          ev("accepted", "2025-01-01T10:20:00Z", { actor: sam, subject: sam, subject_email: "sam@example.org", role: "editor", sections: ["s1"], reason: "expertise", invitation_id: "inv1" }),
          ev("declined", "2025-01-01T10:21:00Z", { actor: rex, subject: rex, subject_email: "rex@example.org", invitation_id: "inv2" }),
          ev("scope_changed", "2025-01-01T11:00:00Z", { subject: sam, role: "editor", sections: null }),
          ev("revoked", "2025-01-01T12:00:00Z", { subject: sam, role: "editor" }),
        ],
        "2025-01-01T10:10:00Z",
      ),
      (id) => titles[id],
    );
    expect(model.stillPrivate).toBe(false);
    expect(model.privateFor).toBe("10 minutes");
    expect(model.firstNeed).toBe("Needs a specialist");
    expect(model.steps).toHaveLength(2);

    const [samStep, rexStep] = model.steps;
    expect(samStep.title).toBe("Ada invited sam@example.org as editor of “Methods”");
    expect(samStep.reasonLabel).toBe("Needs a specialist");
    expect(samStep.message).toBe("You know the protocol.");
    expect(samStep.outcome).toBe("accepted");
    expect(samStep.outcomeText).toBe("Accepted by Sam");
    expect(samStep.followUps.map((f) => f.kind)).toEqual(["scope_changed", "revoked"]);
    expect(samStep.followUps[0].text).toContain("whole document");
    expect(samStep.followUps[1].text).toBe("Ada revoked Sam's access");

    expect(rexStep.title).toBe("Ada invited Rex as reviewer");
    expect(rexStep.reasonLabel).toBe("Proof-reading");
    expect(rexStep.outcome).toBe("declined");
  });

  it("lists sections in document order, whatever order the log has them in", () => {
    const titles: Record<string, string> = { a: "Summary", b: "Methods" };
    const order: Record<string, number> = { a: 1, b: 2 };
    const model = buildTimeline(
      log([ev("invited", "2025-01-01T10:10:00Z", { subject_email: "x@y.org", role: "editor", sections: ["b", "a", "gone"], reason: "help", invitation_id: "i" })], "2025-01-01T10:10:00Z"),
      (id) => titles[id],
      (id) => order[id] ?? 99,
    );
    expect(model.steps[0].sections).toEqual(["Summary", "Methods", "a deleted section"]);
    expect(model.steps[0].reasonLabel).toBe("Can't finish alone or in time");
  });

  it("keeps pending, withdrawn and expired invitations apart", () => {
    const model = buildTimeline(
      log(
        [
          ev("invited", "2025-01-01T10:10:00Z", { subject_email: "a@x.org", role: "viewer", reason: "other", invitation_id: "i1" }),
          ev("invited", "2025-01-01T10:11:00Z", { subject_email: "b@x.org", role: "progress", reason: "progress", invitation_id: "i2" }),
          ev("invited", "2025-01-01T10:12:00Z", { subject_email: "c@x.org", role: "viewer", reason: "help", invitation_id: "i3" }),
          ev("withdrawn", "2025-01-01T10:30:00Z", { subject_email: "b@x.org", invitation_id: "i2" }),
          ev("expired", "2025-01-02T10:12:00Z", { actor: null, subject_email: "c@x.org", invitation_id: "i3" }),
        ],
        "2025-01-01T10:10:00Z",
      ),
    );
    expect(model.steps.map((s) => s.outcome)).toEqual(["pending", "withdrawn", "expired"]);
    expect(model.steps[1].reasonLabel).toBe("Following progress");
    expect(model.steps[2].outcomeText).toBe("Expired without an answer");
  });

  it("sorts events by time and shows unrelated steps on their own", () => {
    const model = buildTimeline(
      log(
        [
          ev("ownership_transferred", "2025-01-03T00:00:00Z", { subject: sam, role: "owner" }),
          ev("invite_requested", "2025-01-02T00:00:00Z", { actor: sam, subject_email: "z@x.org", role: "reviewer", reason: "review" }),
          ev("invite_request_approved", "2025-01-02T01:00:00Z", { subject: sam, subject_email: "z@x.org" }),
        ],
        "2025-01-02T00:00:00Z",
      ),
    );
    expect(model.steps.map((s) => s.kind)).toEqual(["request", "ownership"]);
    expect(model.steps[0].outcome).toBe("approved");
    expect(model.steps[1].title).toBe("Ada handed ownership to Sam");
  });

  it("tells when the document went into the trash and came back", () => {
    const model = buildTimeline(
      log([ev("deleted", "2025-01-04T00:00:00Z"), ev("restored", "2025-01-05T00:00:00Z")], null),
    );
    expect(model.steps.map((s) => s.title)).toEqual([
      "Ada moved the document to the trash",
      "Ada restored the document from the trash",
    ]);
  });

  it("shows an invitation the reader may not know of as “an invitation”", () => {
    // What a member other than the owner receives: no address, no invitee, no message.
    const model = buildTimeline(
      log(
        [
          ev("invited", "2025-01-01T10:10:00Z", { role: "reviewer", reason: "review", invitation_id: "i1" }),
          ev("declined", "2025-01-01T10:20:00Z", { actor: null, role: "reviewer", reason: "review", invitation_id: "i1" }),
          ev("invited", "2025-01-01T10:30:00Z", { role: "editor", sections: ["s1"], reason: "help", invitation_id: "i2" }),
        ],
        "2025-01-01T10:10:00Z",
      ),
      (id) => ({ s1: "Methods" })[id],
    );
    const [declined, pending] = model.steps;
    expect(declined.title).toBe("Ada sent an invitation: reviewer");
    expect(declined.subject).toBe("an invitation");
    expect(declined.outcome).toBe("declined");
    expect(declined.outcomeText).toBe("Declined");
    expect(declined.message).toBeNull();
    expect(pending.title).toBe("Ada sent an invitation: editor of “Methods”");
    expect(pending.outcome).toBe("pending");
  });

  it("matches requests to decisions by who asked when the address is hidden", () => {
    const bob: LogUser = { id: "u-bob", name: "Bob", email: "bob@example.org" };
    const model = buildTimeline(
      log(
        [
          ev("invite_requested", "2025-01-02T00:00:00Z", { actor: sam, role: "viewer", reason: "help" }),
          ev("invite_requested", "2025-01-02T00:01:00Z", { actor: bob, role: "reviewer", reason: "review" }),
          ev("invite_requested", "2025-01-02T00:02:00Z", { actor: sam, role: "editor", reason: "help" }),
          ev("invite_request_refused", "2025-01-02T01:00:00Z", { subject: bob, role: "reviewer" }),
          ev("invite_request_approved", "2025-01-02T02:00:00Z", { subject: sam, role: "viewer" }),
        ],
        null,
      ),
    );
    expect(model.steps.map((s) => [s.actor, s.outcome])).toEqual([
      ["Sam", "approved"],
      ["Bob", "refused"],
      ["Sam", "pending"],
    ]);
    expect(model.steps[0].title).toBe("Sam asked the owner to invite someone as viewer");
  });
});
