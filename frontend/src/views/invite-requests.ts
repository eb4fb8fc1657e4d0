/**
 * Invite requests in the share dialog: an editor asked the owner to invite someone; the owner
 * approves (which sends the invitation as asked) or refuses.
 */

import { answerInviteRequest, type InviteRequest } from "../api";
import { button, errorText, h, setMessage, toast } from "../dom";
import { icon } from "../icons";
import { reasonLabel, relativeTime, roleLabel } from "../labels";

export function inviteRequestRow(
  documentId: string,
  request: InviteRequest,
  scopeText: (role: string, sections: string[] | null) => string,
  onAnswered: () => void,
): HTMLElement {
  const error = h("p", { class: "alert alert-error", role: "alert" });
  error.hidden = true;
  const answer = (kind: "approve" | "refuse") => async (): Promise<void> => {
    approve.disabled = refuse.disabled = true;
    setMessage(error, "");
    try {
      await answerInviteRequest(documentId, request.id, kind);
      toast(kind === "approve" ? `Invitation sent to ${request.email}.` : `You refused ${request.requester.name}'s request.`);
      onAnswered();
    } catch (e) {
      setMessage(error, errorText(e));
      approve.disabled = refuse.disabled = false;
    }
  };
  const who = `${request.requester.name}'s request to invite ${request.email}`;
  const approve = button([icon("check", 16), "Approve"], { class: "btn btn-primary btn-sm", "aria-label": `Approve ${who}` }, () => void answer("approve")());
  const refuse = button("Refuse", { class: "btn btn-ghost btn-sm", "aria-label": `Refuse ${who}` }, () => void answer("refuse")());
  const scope = scopeText(request.role, request.sections);
  return h(
    "li",
    { class: "person-row request-row", "data-request-id": request.id },
    h(
      "div",
      { class: "person" },
      h("span", { class: "avatar avatar-pending", "aria-hidden": "true" }, icon("users", 15)),
      h(
        "div",
        {},
        h("strong", {}, request.email),
        h(
          "div",
          { class: "muted small" },
          `asked by ${request.requester.name} · ${roleLabel(request.role)}${scope ? ` · ${scope}` : ""} · ${reasonLabel(request.reason)} · ${relativeTime(request.created_at)}`,
        ),
        request.message ? h("blockquote", { class: "invite-message" }, request.message) : null,
      ),
    ),
    h("div", { class: "row" }, approve, refuse),
    error,
  );
}
