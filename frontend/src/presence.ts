/**
 * Reading what other members publish in awareness (who they are, their colour, their cursor)
 * before any of it reaches this page.
 *
 * Each awareness state is written by another member's client, and any member may be hostile
 * and run a client of their own. The server puts its own `user.id` and `user.name` in (and may
 * check more), but the page does not rely on that: a colour goes into CSS, where `url(...)`
 * would make every reader's browser fetch an address of the sender's choosing, so only a hex
 * colour passes; a name is only ever text; a cursor is drawn only if y-prosemirror can resolve
 * it without throwing (a throw there breaks the section for this reader).
 */

import { PALETTE, userColor } from "./labels";

/** A remote user as the page may draw them. */
export interface RemoteUser {
  /** The server's user id; null when the state carries none (then nothing keys on it). */
  id: string | null;
  /** Plain text, bounded, never empty. */
  name: string;
  /** Always `#rrggbb`: y-prosemirror and our selection style append an alpha to it. */
  color: string;
}

const HEX_COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
const MAX_NAME_LENGTH = 64;
const MAX_ID_LENGTH = 200;
// C0/C1 controls and the bidirectional overrides and isolates, which would let a name reorder
// the text drawn after it ("… is here").
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** `#rgb` or `#rrggbb` as lowercase `#rrggbb`; anything else (names, functions, CSS) is null. */
export function hexColor(value: unknown): string | null {
  if (typeof value !== "string" || !HEX_COLOR.test(value)) return null;
  const hex = value.slice(1).toLowerCase();
  return hex.length === 3 ? `#${[...hex].map((c) => c + c).join("")}` : `#${hex}`;
}

/** A name to show as text: printable, on one line, at most MAX_NAME_LENGTH characters. */
export function displayName(value: unknown): string {
  if (typeof value !== "string") return "Someone";
  const name = value.replace(UNPRINTABLE, " ").replace(/\s+/g, " ").trim();
  if (!name) return "Someone";
  const chars = [...name];
  return chars.length > MAX_NAME_LENGTH ? `${chars.slice(0, MAX_NAME_LENGTH - 1).join("")}…` : name;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The `user` field of an awareness state as the page may draw it. A colour that is not hex is
 * replaced by the one this page would pick for that user (or, without an id, for that client).
 */
export function remoteUser(value: unknown, clientId: number): RemoteUser {
  const user = isRecord(value) ? value : {};
  const id = typeof user.id === "string" && user.id !== "" && user.id.length <= MAX_ID_LENGTH ? user.id : null;
  return {
    id,
    name: displayName(user.name),
    color: hexColor(user.color) ?? userColor(id ?? `client:${clientId}`),
  };
}

const isId = (value: unknown): boolean =>
  isRecord(value) && Number.isSafeInteger(value.client) && Number.isSafeInteger(value.clock) &&
  (value.client as number) >= 0 && (value.clock as number) >= 0;

/**
 * Whether `value` is a Y.RelativePosition in JSON (as `Y.relativePositionToJSON` writes it)
 * that Yjs can decode without throwing, pointing into this section. A root is named only for
 * the section's very end (a selection of everything); resolving a position that names another
 * root would make Yjs create that root in this page's document.
 */
export function isRelativePosition(value: unknown, rootName: string): boolean {
  if (!isRecord(value)) return false;
  const { type, tname, item, assoc } = value;
  if (type != null && !isId(type)) return false;
  if (item != null && !isId(item)) return false;
  if (tname != null && tname !== rootName) return false;
  if (assoc != null && !Number.isSafeInteger(assoc)) return false;
  return type != null || tname != null || item != null;
}

/**
 * Whether y-prosemirror may draw this awareness state's cursor in the section whose root is
 * `rootName`. It reads `cursor.anchor`/`cursor.head` and adds defaults to `user` in place, which
 * throws for a `user` that is not an object.
 */
export function isDrawableCursorState(state: Record<string, unknown>, rootName: string): boolean {
  const { user, cursor } = state;
  if (user != null && !isRecord(user)) return false;
  return isRecord(cursor) && isRelativePosition(cursor.anchor, rootName) && isRelativePosition(cursor.head, rootName);
}

/**
 * A colour for each person present, distinct while the palette lasts: everyone keeps their own
 * colour (`userColor`) unless someone with a smaller id has it already, then takes the first
 * free one. Every page that sees the same people computes the same answer, so a person's
 * avatar and cursor have one colour on every screen.
 */
export function distinctColors(userIds: Iterable<string>): Map<string, string> {
  const ids = [...new Set(userIds)].sort();
  const taken = new Set<string>();
  const colors = new Map<string, string>();
  for (const id of ids) {
    let color = userColor(id);
    if (taken.has(color)) color = PALETTE.find((c) => !taken.has(c)) ?? color;
    taken.add(color);
    colors.set(id, color);
  }
  return colors;
}
