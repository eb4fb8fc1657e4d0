/** Hash routes of the single-page app. */

export type Route =
  | { name: "home" }
  | { name: "document"; id: string }
  | { name: "timeline"; id: string }
  | { name: "progress"; id: string };

export function parseRoute(hash: string): Route {
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
