/** Who has the document open right now, as avatars in the header. */

import { h } from "../../dom";
import { initials } from "../../labels";
import { distinctColors, remoteUser } from "../../presence";
import type { DocState } from "./state";

/** One person with the document open (several tabs of one person count once). */
export interface Present {
  id: string;
  name: string;
  color: string;
  me: boolean;
  /** The section they are in, if any. */
  section: string | null;
}

export class PresenceList {
  readonly el = h("ul", { class: "presence", id: "presence", "aria-label": "Here now" });
  private readonly state: DocState;

  constructor(state: DocState) {
    this.state = state;
  }

  /** Draw who is here, me first, and return them (the sections show who is in which). */
  render(): Present[] {
    const session = this.state.session;
    if (!session) return [];
    const users = new Map<string, Present>();
    session.awareness.getStates().forEach((state, clientId) => {
      // Another member's client wrote this state: only what remoteUser() lets through is drawn.
      const user = remoteUser(state.user, clientId);
      if (!user.id) return;
      const me = clientId === session.ydoc.clientID || user.id === this.state.ctx.user.id;
      const prev = users.get(user.id);
      const section = typeof state.section === "string" ? state.section : null;
      users.set(user.id, { id: user.id, name: user.name, color: user.color, me, section: prev?.section ?? section });
    });
    const list = [...users.values()].sort((a, b) => Number(b.me) - Number(a.me));
    // One colour per person on every screen: mine, if it changed, goes out in my awareness
    // state, so my cursor has it for the others too.
    const colors = distinctColors(list.map((u) => u.id));
    for (const u of list) u.color = colors.get(u.id) ?? u.color;
    const mine = list.find((u) => u.id === this.state.ctx.user.id);
    const local = session.awareness.getLocalState()?.user as { color?: unknown } | undefined;
    if (mine && local && local.color !== mine.color) session.awareness.setLocalStateField("user", { ...local, color: mine.color });
    this.el.replaceChildren(
      ...list.map((u) => {
        const label = u.me ? `${u.name} (you)` : u.name;
        return h(
          "li",
          { class: "presence-item", title: label, "data-user-id": u.id },
          h("span", { class: "avatar", style: `--c:${u.color}`, "aria-hidden": "true" }, initials(u.name)),
          h("span", { class: "visually-hidden" }, label),
        );
      }),
    );
    this.el.dataset.count = String(list.length);
    return list;
  }
}
