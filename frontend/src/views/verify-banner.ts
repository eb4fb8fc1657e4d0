/**
 * On the home page, for an account whose address is not proven: why it matters (invitations
 * sent to the address reach it only by their link until then) and, when this server mails,
 * a button that mails the confirmation link.
 */

import { requestVerification, type User } from "../api";
import { button, errorText, h, setMessage } from "../dom";

export function verifyBanner(user: User): HTMLElement | null {
  if (user.email_verified !== false) return null;
  const result = h("p", { class: "small", role: "status" });
  result.hidden = true;
  if (!user.mail_enabled) {
    return h(
      "section",
      { class: "panel verify-banner", id: "verify-banner" },
      h("p", { class: "small" }, `Invitations to ${user.email} reach you through the link the inviter sends you.`),
    );
  }
  const send = button("Mail me a confirmation link", { class: "btn btn-sm", id: "send-verification" }, async () => {
    send.disabled = true;
    try {
      setMessage(result, (await requestVerification()).detail);
    } catch (error) {
      setMessage(result, errorText(error));
      send.disabled = false;
    }
  });
  return h(
    "section",
    { class: "panel verify-banner", id: "verify-banner" },
    h("p", { class: "small" }, `Confirm that ${user.email} is yours, so invitations sent to it reach you here without their link.`),
    send,
    result,
  );
}
