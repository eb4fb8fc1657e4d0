/**
 * The share dialog (owners only): invite by email with a role, a scope (editors), a reason and
 * a message; see members and pending invitations; change a member's role or scope; revoke;
 * hand ownership to a member; withdraw an invitation; copy an invitation's link (the way it
 * travels when the server sends no mail) and see when its mail could not be delivered; answer
 * editors' invite requests.
 */

import {
  changeMember,
  documentInvitations,
  invite,
  inviteRequests,
  listMembers,
  newInvitationLink,
  removeMember,
  transferOwnership,
  withdrawInvitation,
  type InvitableRole,
  type Invitation,
  type MailStatus,
  type Member,
  type Reason,
  type Section,
} from "../api";
import { button, errorText, h, setMessage, toast, uid } from "../dom";
import { about, refreshOn } from "../live";
import { icon } from "../icons";
import { inviteRequestRow } from "./invite-requests";
import { presetScope, type SharePreset } from "../share-preset";
import { REASONS, ROLES, initials, reasonLabel, relativeTime, roleForReason, roleLabel, userColor } from "../labels";

export interface ShareOptions {
  documentId: string;
  title: string;
  sections: Section[];
  onChanged(): void;
  /** Open with the invite form filled in for a need (reason, sections). */
  preset?: SharePreset;
}

function sectionPicker(name: string, sections: Section[], selected: string[] | null): { el: HTMLElement; value(): string[] } {
  const boxes = sections.map((s) => {
    const id = uid(name);
    const input = h("input", { type: "checkbox", id, value: s.id, name });
    input.checked = selected === null || selected.includes(s.id);
    return { input, el: h("label", { class: "check", for: id }, input, h("span", {}, s.title)) };
  });
  return {
    el: h("div", { class: "check-list" }, ...boxes.map((b) => b.el)),
    value: () => boxes.filter((b) => b.input.checked).map((b) => b.input.value),
  };
}

/** What became of an invitation's mail, in words; a failure is an alert the owner sees. */
function mailLine(mail: MailStatus | null | undefined): HTMLElement | null {
  if (!mail) return null;
  if (mail.status === "sent") return h("div", { class: "muted small mail-status", "data-mail-status": "sent" }, "Mail delivered");
  if (mail.status === "queued") return h("div", { class: "muted small mail-status", "data-mail-status": "queued" }, "Mail on its way…");
  const what = mail.status === "failed" ? "Mail could not be delivered; no more tries." : "Mail not delivered yet; trying again.";
  return h(
    "div",
    { class: "alert alert-error small mail-status", role: "alert", "data-mail-status": mail.status },
    `${what} Use “New link” to pass it on another way.`,
    mail.error ? h("small", { class: "mail-error" }, mail.error) : null,
  );
}

/** A link to copy: only its hash is kept on the server, so it is shown when made. */
function linkPanel(link: string, note: string): HTMLElement {
  const field = h("input", { class: "input", id: "invite-link", readonly: true, value: link, "aria-label": "Invitation link" });
  const copy = button("Copy link", { class: "btn btn-sm", id: "copy-invite-link" }, async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(link);
      toast("Link copied.");
    } catch {
      toast("Select the link and copy it yourself.", "error");
    }
  });
  return h("div", { class: "invite-link-panel", id: "invite-link-panel" }, h("p", { class: "small" }, note), h("div", { class: "row nowrap" }, field, copy));
}

export function openShareDialog(options: ShareOptions): void {
  const { documentId, sections } = options;
  const ordered = [...sections].sort((a, b) => a.position - b.position);
  const dialog = h("dialog", { class: "dialog share-dialog", "aria-labelledby": "share-heading", id: "share-dialog" });
  const close = button(icon("x", 18), { class: "icon-btn dialog-close", "aria-label": "Close" }, () => dialog.close());

  // ---------------------------------------------------------------- invite form
  const email = h("input", { id: "invite-email", class: "input", type: "email", required: true, autocomplete: "off", placeholder: "name@example.org" });
  const role = h("select", { id: "invite-role", class: "input" }, ...ROLES.map((r) => h("option", { value: r.value }, r.label)));
  const roleHint = h("small", { class: "hint", id: "invite-role-hint" });
  role.setAttribute("aria-describedby", "invite-role-hint");

  const scopeAll = h("input", { type: "radio", name: "invite-scope", id: "invite-scope-all", value: "all" });
  const scopeSome = h("input", { type: "radio", name: "invite-scope", id: "invite-scope-some", value: "some" });
  const presetSections = presetScope(options.preset, ordered.map((s) => s.id));
  scopeAll.checked = presetSections.length === 0;
  scopeSome.checked = presetSections.length > 0;
  const picker = sectionPicker("invite-section", ordered, presetSections);
  const scopeBox = h(
    "fieldset",
    { class: "fieldset", id: "invite-scope" },
    h("legend", {}, "Which sections may they edit?"),
    h("label", { class: "check", for: "invite-scope-all" }, scopeAll, h("span", {}, "The whole document")),
    h("label", { class: "check", for: "invite-scope-some" }, scopeSome, h("span", {}, "Only these sections:")),
    ordered.length ? picker.el : h("p", { class: "muted small" }, "Add sections to the document to invite someone to a part of it."),
  );
  scopeSome.disabled = ordered.length === 0;
  const syncScope = (): void => {
    scopeBox.hidden = role.value !== "editor";
    picker.el.classList.toggle("is-disabled", !scopeSome.checked);
    picker.el.querySelectorAll("input").forEach((i) => ((i as HTMLInputElement).disabled = !scopeSome.checked));
    roleHint.textContent = ROLES.find((r) => r.value === role.value)?.hint ?? "";
  };
  role.addEventListener("change", syncScope);
  scopeAll.addEventListener("change", syncScope);
  scopeSome.addEventListener("change", syncScope);
  picker.el.addEventListener("change", () => {
    scopeSome.checked = true;
    syncScope();
  });

  let roleTouched = false;
  role.addEventListener("change", () => (roleTouched = true));
  const reasonInputs = REASONS.map((r) => {
    const id = `invite-reason-${r.value}`;
    const input = h("input", { type: "radio", name: "invite-reason", id, value: r.value, required: true, "aria-label": r.label, "aria-describedby": `${id}-hint` });
    input.addEventListener("change", () => {
      if (!roleTouched) {
        role.value = roleForReason(r.value);
        syncScope();
      }
    });
    return { input, el: h("label", { class: "reason-option", for: id }, input, h("span", { class: "reason-text" }, h("strong", {}, r.label), h("small", { id: `${id}-hint` }, r.hint))) };
  });
  const preset = reasonInputs.find((r) => r.input.value === options.preset?.reason);
  if (preset) {
    preset.input.checked = true;
    role.value = roleForReason(preset.input.value as Reason);
  }
  const reasonBox = h("fieldset", { class: "fieldset reasons" }, h("legend", {}, "Why do you need them?"), h("div", { class: "reason-grid" }, ...reasonInputs.map((r) => r.el)));
  const message = h("textarea", { id: "invite-message", class: "input", rows: 2, maxlength: 2000, placeholder: "e.g. Could you write the methods part? You know the protocol best." });
  const formError = h("p", { class: "alert alert-error", role: "alert", id: "invite-error" });
  formError.hidden = true;
  const linkSlot = h("div", { class: "invite-link-slot", "aria-live": "polite" });
  const showLink = (link: string | null | undefined, note: string): void => {
    linkSlot.replaceChildren(...(link ? [linkPanel(link, note)] : []));
  };
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "invite-submit" }, icon("mail", 16), "Send invitation");
  const form = h(
    "form",
    { class: "invite-form", id: "invite-form", "aria-labelledby": "invite-heading", novalidate: true },
    h("h3", { id: "invite-heading" }, "Invite someone"),
    h("div", { class: "field" }, h("label", { for: "invite-email" }, "Email"), email),
    reasonBox,
    h("div", { class: "field role-field" }, h("label", { for: "invite-role" }, "Role"), h("div", { class: "row nowrap" }, role, roleHint)),
    scopeBox,
    h("div", { class: "field" }, h("label", { for: "invite-message" }, "Message ", h("span", { class: "muted" }, "(optional)")), message),
    formError,
    h("div", { class: "row end" }, submit),
    linkSlot,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setMessage(formError, "");
    const address = email.value.trim();
    const reason = reasonInputs.find((r) => r.input.checked)?.input.value as Reason | undefined;
    if (!address || !email.checkValidity()) {
      setMessage(formError, "Enter the email address of the person to invite.");
      email.focus();
      return;
    }
    if (!reason) {
      setMessage(formError, "Choose why you are inviting them.");
      reasonInputs[0].input.focus();
      return;
    }
    const chosenRole = role.value as InvitableRole;
    let scope: string[] | null = null;
    if (chosenRole === "editor" && scopeSome.checked) {
      scope = picker.value();
      if (scope.length === 0) {
        setMessage(formError, "Pick at least one section, or choose the whole document.");
        return;
      }
    }
    submit.disabled = true;
    try {
      const created = await invite(documentId, {
        email: address,
        role: chosenRole,
        sections: scope,
        reason,
        message: message.value.trim() || null,
      });
      const mailed = Boolean(created.mail);
      toast(mailed ? `Invitation mailed to ${address}.` : `Invitation to ${address} made: copy its link.`);
      form.reset();
      body.scrollTop = 0;
      scopeAll.checked = true;
      roleTouched = false;
      syncScope();
      options.onChanged();
      await refreshLists();
      showLink(
        created.link,
        mailed
          ? `A mail with this link is on its way to ${address}. It works once; only they should get it.`
          : `This server sends no mail: send this link to ${address} yourself. It works once, for whoever opens it.`,
      );
      email.focus();
    } catch (error) {
      setMessage(formError, errorText(error));
    } finally {
      submit.disabled = false;
    }
  });

  // ---------------------------------------------------------------- members and invitations
  const membersList = h("ul", { class: "people", id: "members-list", "aria-labelledby": "members-heading" });
  const invitesList = h("ul", { class: "people", id: "invitations-list", "aria-labelledby": "pending-heading" });
  const requestsList = h("ul", { class: "people", id: "requests-list", "aria-labelledby": "requests-heading" });
  const listsError = h("p", { class: "alert alert-error", role: "alert" });
  listsError.hidden = true;
  const titleOf = (sid: string): string => ordered.find((s) => s.id === sid)?.title ?? "a deleted section";
  const scopeText = (r: string, s: string[] | null): string =>
    r === "editor" ? (s ? s.map((x) => `“${titleOf(x)}”`).join(", ") : "Whole document") : "";

  const memberRow = (m: Member): HTMLElement => {
    const person = h(
      "div",
      { class: "person" },
      h("span", { class: "avatar", style: `--c:${userColor(m.user.id)}`, "aria-hidden": "true" }, initials(m.user.name)),
      h("div", {}, h("strong", {}, m.user.name), h("div", { class: "muted small" }, m.user.email)),
    );
    if (m.role === "owner") {
      return h("li", { class: "person-row", "data-user-id": m.user.id }, person, h("span", { class: "badge badge-role role-owner" }, "Owner"));
    }
    const rowError = h("p", { class: "alert alert-error", role: "alert" });
    rowError.hidden = true;
    const roleSel = h(
      "select",
      { class: "input input-sm", "aria-label": `Role of ${m.user.name}` },
      ...ROLES.map((r) => h("option", { value: r.value }, r.label)),
    );
    roleSel.value = m.role;
    const editScope = button("Sections…", { class: "btn btn-ghost btn-sm", "aria-expanded": "false" }, () => {
      const open = scopeEditor.hidden;
      scopeEditor.hidden = !open;
      editScope.setAttribute("aria-expanded", String(open));
    });
    editScope.hidden = m.role !== "editor";
    const scopePicker = sectionPicker(`scope-${m.user.id}`, ordered, m.sections);
    const wholeId = uid("whole");
    const whole = h("input", { type: "checkbox", id: wholeId });
    whole.checked = m.sections === null;
    const syncWhole = (): void => {
      scopePicker.el.classList.toggle("is-disabled", whole.checked);
      scopePicker.el.querySelectorAll("input").forEach((i) => ((i as HTMLInputElement).disabled = whole.checked));
    };
    whole.addEventListener("change", syncWhole);
    syncWhole();
    const saveScope = button("Save sections", { class: "btn btn-primary btn-sm" }, () =>
      void apply({ sections: whole.checked ? null : scopePicker.value() }),
    );
    const scopeEditor = h(
      "div",
      { class: "scope-editor" },
      h("label", { class: "check", for: wholeId }, whole, h("span", {}, "The whole document")),
      scopePicker.el,
      h("div", { class: "row end" }, saveScope),
    );
    scopeEditor.hidden = true;
    const apply = async (patch: { role?: InvitableRole; sections?: string[] | null }): Promise<void> => {
      setMessage(rowError, "");
      if (patch.sections && patch.sections.length === 0) {
        setMessage(rowError, "Pick at least one section, or the whole document.");
        return;
      }
      try {
        await changeMember(documentId, m.user.id, patch);
        toast(`${m.user.name}'s access was changed.`);
        options.onChanged();
        await refreshLists();
      } catch (error) {
        setMessage(rowError, errorText(error));
        roleSel.value = m.role;
      }
    };
    roleSel.addEventListener("change", () => {
      const next = roleSel.value as InvitableRole;
      void apply(next === "editor" ? { role: next } : { role: next, sections: null });
    });
    const revoke = button("Remove", { class: "btn btn-danger btn-sm", "aria-label": `Remove ${m.user.name}` }, async () => {
      if (!window.confirm(`Remove ${m.user.name}'s access to this document? Their open editor stops at once.`)) return;
      revoke.disabled = true;
      try {
        await removeMember(documentId, m.user.id);
        toast(`${m.user.name} no longer has access.`);
        options.onChanged();
        await refreshLists();
      } catch (error) {
        setMessage(rowError, errorText(error));
        revoke.disabled = false;
      }
    });
    const makeOwner = button("Make owner", { class: "btn btn-ghost btn-sm", "aria-label": `Make owner: ${m.user.name}` }, async () => {
      if (!window.confirm(`Make ${m.user.name} the owner of this document? You stay on as an editor of the whole document, and only they can manage sharing or delete it.`)) return;
      makeOwner.disabled = true;
      try {
        await transferOwnership(documentId, m.user.id);
        toast(`${m.user.name} now owns this document.`);
        dialog.close();
        options.onChanged();
      } catch (error) {
        setMessage(rowError, errorText(error));
        makeOwner.disabled = false;
      }
    });
    return h(
      "li",
      { class: "person-row", "data-user-id": m.user.id },
      person,
      h(
        "div",
        { class: "person-access" },
        h("div", { class: "row" }, roleSel, editScope, revoke),
        m.role === "editor" ? h("div", { class: "muted small" }, scopeText(m.role, m.sections)) : null,
        m.reason ? h("div", { class: "muted small" }, `Invited for: ${reasonLabel(m.reason)}`) : null,
        makeOwner,
      ),
      scopeEditor,
      rowError,
    );
  };

  const invitationRow = (inv: Invitation): HTMLElement => {
    const withdraw = button("Withdraw", { class: "btn btn-ghost btn-sm", "aria-label": `Withdraw the invitation to ${inv.email}` }, async () => {
      withdraw.disabled = true;
      try {
        await withdrawInvitation(documentId, inv.id);
        toast(`Invitation to ${inv.email} withdrawn.`);
        options.onChanged();
        await refreshLists();
      } catch (error) {
        toast(errorText(error), "error");
        withdraw.disabled = false;
      }
    });
    const copyLink = button("New link", { class: "btn btn-ghost btn-sm", "aria-label": `A new link for the invitation to ${inv.email}` }, async () => {
      copyLink.disabled = true;
      try {
        const renewed = await newInvitationLink(documentId, inv.id);
        showLink(renewed.link, `A new link for ${inv.email}; any earlier link no longer works.`);
      } catch (error) {
        toast(errorText(error), "error");
      } finally {
        copyLink.disabled = false;
      }
    });
    const scope = scopeText(inv.role, inv.sections);
    return h(
      "li",
      { class: "person-row", "data-invitation-id": inv.id },
      h(
        "div",
        { class: "person" },
        h("span", { class: "avatar avatar-pending", "aria-hidden": "true" }, icon("mail", 15)),
        h("div", {}, h("strong", {}, inv.email), h("div", { class: "muted small" }, `${roleLabel(inv.role)}${scope ? ` · ${scope}` : ""} · ${reasonLabel(inv.reason)} · sent ${relativeTime(inv.created_at)}`)),
      ),
      h("div", { class: "row nowrap" }, copyLink, withdraw),
      mailLine(inv.mail),
    );
  };

  const refreshLists = async (): Promise<void> => {
    try {
      const [members, invitations, requests] = await Promise.all([listMembers(documentId), documentInvitations(documentId), inviteRequests(documentId)]);
      membersList.replaceChildren(...members.map(memberRow));
      const pending = invitations.filter((i) => i.status === "pending");
      invitesList.replaceChildren(...(pending.length ? pending.map(invitationRow) : [h("li", { class: "empty" }, "No pending invitations.")]));
      const asked = requests.filter((r) => r.status === "pending");
      const answered = (): void => {
        options.onChanged();
        void refreshLists();
      };
      requestsList.replaceChildren(
        ...(asked.length ? asked.map((r) => inviteRequestRow(documentId, r, scopeText, answered)) : [h("li", { class: "empty" }, "No requests waiting.")]),
      );
      setMessage(listsError, "");
    } catch (error) {
      setMessage(listsError, `Could not load who has access: ${errorText(error)}`);
    }
  };

  const body = h(
    "div",
    { class: "dialog-body share-body" },
    form,
    h(
      "div",
      { class: "share-lists" },
      h("h3", { id: "members-heading" }, "People with access"),
      listsError,
      membersList,
      h("h3", { id: "requests-heading" }, "Requests to invite someone"),
      requestsList,
      h("h3", { id: "pending-heading" }, "Pending invitations"),
      invitesList,
    ),
  );
  dialog.append(
    h(
      "div",
      { class: "dialog-head" },
      h("div", {}, h("h2", { id: "share-heading" }, "Share “", options.title, "”"), h("p", { class: "muted small" }, "Only the people below can tell this document exists.")),
      close,
    ),
    body,
  );
  // Someone accepts, declines or leaves, or an invitation's mail is delivered or fails, while
  // the dialog is open: the lists follow (the live channel tells; nothing polls).
  const unfollow = refreshOn(about(documentId, "member", "invitation"), () => void refreshLists());
  dialog.addEventListener("close", () => {
    unfollow();
    dialog.remove();
  });
  document.body.append(dialog);
  syncScope();
  dialog.showModal();
  email.focus();
  void refreshLists();
}
