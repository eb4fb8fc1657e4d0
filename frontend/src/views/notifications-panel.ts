/**
 * The home page's notifications: what happened for me (invited, an invite request to answer,
 * a reply to my comment, a mention), newest first, each leading where it happened; and, when
 * the server mails, which kinds also come by mail.
 */

import {
  changeMailChoices,
  mailChoices,
  markNotificationRead,
  myNotifications,
  type AppNotification,
  type NotificationKind,
  type User,
} from "../api";
import { button, errorText, h, toast } from "../dom";
import { icon } from "../icons";
import { relativeTime } from "../labels";

const KIND_LABELS: Record<NotificationKind, string> = {
  invited: "Invitations to me",
  invite_request: "Requests to invite someone",
  reply: "Replies to my comments",
  mention: "Mentions of me",
};

function item(n: AppNotification, refresh: () => void): HTMLElement {
  const read = button("Mark read", { class: "btn btn-ghost btn-sm" }, async () => {
    read.disabled = true;
    try {
      await markNotificationRead(n.id);
      refresh();
    } catch (error) {
      toast(errorText(error), "error");
      read.disabled = false;
    }
  });
  return h(
    "li",
    { class: `notification${n.read_at ? "" : " is-unread"}`, "data-kind": n.kind },
    h("a", { href: n.path }, n.text),
    h("div", { class: "row" }, h("span", { class: "muted small" }, relativeTime(n.created_at)), n.read_at ? null : read),
  );
}

async function mailSwitches(): Promise<HTMLElement> {
  const choices = await mailChoices();
  const boxes = (Object.keys(KIND_LABELS) as NotificationKind[]).map((kind) => {
    const input = h("input", { type: "checkbox", id: `mail-${kind}` });
    input.checked = choices[kind];
    input.addEventListener("change", async () => {
      try {
        await changeMailChoices({ [kind]: input.checked });
      } catch (error) {
        input.checked = !input.checked;
        toast(errorText(error), "error");
      }
    });
    return h("label", { class: "check", for: `mail-${kind}` }, input, h("span", {}, KIND_LABELS[kind]));
  });
  return h("details", { class: "mail-switches" }, h("summary", {}, "Also by mail"), h("div", { class: "check-list" }, ...boxes));
}

export async function notificationsPanel(user: User): Promise<HTMLElement> {
  const list = h("ul", { class: "notification-list", id: "notifications" });
  const count = h("span", { class: "count" });
  const panel = h(
    "section",
    { class: "panel", "aria-labelledby": "notifications-heading" },
    h("div", { class: "section-heading" }, h("h2", { id: "notifications-heading" }, icon("mail", 18), "Notifications"), count),
    list,
  );
  const refresh = async (): Promise<void> => {
    try {
      const notifications = await myNotifications();
      const unread = notifications.filter((n) => !n.read_at).length;
      count.textContent = String(unread);
      count.classList.toggle("count-hot", unread > 0);
      list.replaceChildren(
        ...(notifications.length ? notifications.map((n) => item(n, () => void refresh())) : [h("li", { class: "empty" }, "Nothing new.")]),
      );
    } catch (error) {
      list.replaceChildren(h("li", { class: "alert alert-error", role: "alert" }, `Could not load notifications: ${errorText(error)}`));
    }
  };
  await refresh();
  if (user.mail_enabled) panel.append(await mailSwitches().catch(() => h("p", { class: "muted small" }, "Mail choices are unavailable.")));
  return panel;
}
