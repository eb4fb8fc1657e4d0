/** Hash routes of the single-page app. */

export type Route =
  | { name: "home" }
  | { name: "document"; id: string }
  | { name: "timeline"; id: string }
  | { name: "progress"; id: string }
  /** Every document I may see progress of: the manager's dashboard. */
  | { name: "dashboard" }
  /** Links that arrive by mail: an invitation, an address to verify, a password to reset. */
  | { name: "invite"; id: string; token: string }
  | { name: "verify"; token: string }
  | { name: "reset"; token: string };

const SECRET = "([A-Za-z0-9_-]{1,128})";

function parseMailLink(hash: string): Route | null {
  const invite = new RegExp(`^#/invite/([0-9a-fA-F-]{1,64})/${SECRET}$`).exec(hash);
  if (invite) return { name: "invite", id: invite[1], token: invite[2] };
  const account = new RegExp(`^#/(verify|reset)/${SECRET}$`).exec(hash);
  if (account) return { name: account[1] as "verify" | "reset", token: account[2] };
  return null;
}

export function parseRoute(hash: string): Route {
  const mailed = parseMailLink(hash);
  if (mailed) return mailed;
  if (/^#\/progress\/?$/.test(hash)) return { name: "dashboard" };
  const match = /^#\/d\/([^/?#]+)(?:\/(timeline|progress))?\/?$/.exec(hash);
  if (!match) return { name: "home" };
  let id: string;
  try {
    id = decodeURIComponent(match[1]);
  } catch {
    return { name: "home" };
  }
  if (match[2] === "timeline") return { name: "timeline", id };
  if (match[2] === "progress") return { name: "progress", id };
  return { name: "document", id };
}

export const docHref = (id: string): string => `#/d/${encodeURIComponent(id)}`;
export const timelineHref = (id: string): string => `${docHref(id)}/timeline`;
export const progressHref = (id: string): string => `${docHref(id)}/progress`;
export const dashboardHref = "#/progress";
