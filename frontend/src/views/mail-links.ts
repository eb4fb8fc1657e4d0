/**
 * The pages a mailed link opens: accepting an invitation (after sign-in or registration),
 * confirming an address, choosing a new password. Each secret is used once, by the server.
 */

import { acceptInvitation, resetPassword, verifyEmail, type User } from "../api";
import type { AppContext } from "../context";
import { errorText, h, setMessage } from "../dom";
import { docHref } from "../routes";

type Mount = (view: HTMLElement, focus?: HTMLElement | null) => void;

export const INVITE_NOTICE =
  "You have been invited to a document. Sign in, or create an account, to open it.";

function page(title: string, ...children: HTMLElement[]): { view: HTMLElement; heading: HTMLElement } {
  const heading = h("h1", { tabindex: -1 }, title);
  return { view: h("div", { class: "page narrow mail-link-page" }, heading, ...children), heading };
}

const homeLink = (): HTMLElement => h("p", {}, h("a", { href: "#/" }, "Go to your documents"));

/** Signed in: accept by the link's secret, then open the document with the invited role. */
export async function renderInvitePage(ctx: AppContext, id: string, token: string): Promise<void> {
  const status = h("p", { role: "status" }, "Accepting the invitation…");
  const { view, heading } = page("Invitation", status);
  ctx.mount(view, heading);
  try {
    const invitation = await acceptInvitation(id, token);
    if (!ctx.alive()) return;
    // The link is used up: leave it out of the history, so Back does not try it again.
    history.replaceState(null, "", docHref(invitation.document_id));
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } catch (error) {
    if (!ctx.alive()) return;
    status.remove();
    view.append(h("p", { class: "alert alert-error", role: "alert", id: "invite-error" }, errorText(error)), homeLink());
  }
}

export async function renderVerifyPage(mount: Mount, token: string, user: User | null): Promise<void> {
  const status = h("p", { role: "status" }, "Confirming your address…");
  const { view, heading } = page("Confirm your address", status);
  mount(view, heading);
  try {
    const me = await verifyEmail(token);
    status.textContent = `${me.email} is confirmed: invitations sent to it now reach you.`;
  } catch (error) {
    status.remove();
    view.append(h("p", { class: "alert alert-error", role: "alert" }, errorText(error)));
  }
  view.append(user ? homeLink() : h("p", {}, h("a", { href: "#/" }, "Sign in")));
}

export function renderResetPage(mount: Mount, token: string, done: () => void): void {
  const password = h("input", {
    id: "reset-password", class: "input", type: "password", required: true, minlength: 8, autocomplete: "new-password",
  });
  const error = h("p", { class: "alert alert-error", role: "alert", id: "reset-error" });
  error.hidden = true;
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Set the new password");
  const form = h(
    "form",
    { class: "auth-form card", id: "reset-form" },
    h("div", { class: "field" }, h("label", { for: "reset-password" }, "New password"), password,
      h("small", { class: "hint" }, "At least 8 characters. Every place you are signed in will be signed out.")),
    error,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setMessage(error, "");
    if (password.value.length < 8) {
      setMessage(error, "The password must have at least 8 characters.");
      return;
    }
    submit.disabled = true;
    try {
      await resetPassword(token, password.value);
      done();
    } catch (failure) {
      setMessage(error, errorText(failure));
      submit.disabled = false;
    }
  });
  const { view } = page("Choose a new password", form);
  mount(view, password);
}
