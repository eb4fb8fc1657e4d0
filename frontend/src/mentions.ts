/**
 * @mentions in a comment: what is being typed after an `@`, who it may mean, the text once a
 * person is chosen, and at send time whom the text still names (their ids go to the server,
 * which notifies them; the body keeps "@Name" for people to read).
 */

export interface Mentionable {
  id: string;
  name: string;
  email: string;
}

/** An `@` being typed: where it starts in the text and what follows it up to the caret. */
export interface MentionQuery {
  start: number;
  query: string;
}

const MAX_SHOWN = 6;
// An `@` that starts a word (not one inside an address), then letters, digits and the marks
// names carry, up to the caret.
const TYPING = /(?:^|\s)@([\p{L}\p{M}\p{N}.'’-]*)$/u;

/** The `@query` the caret is at the end of, or null when it is not in one. */
export function mentionQuery(text: string, caret: number): MentionQuery | null {
  const before = text.slice(0, caret);
  const match = TYPING.exec(before);
  if (!match) return null;
  return { start: caret - match[1].length - 1, query: match[1] };
}

/** For matching: lower case, without accents ("Zoë" is found by "zoe"). */
function folded(text: string): string {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLocaleLowerCase();
}

/**
 * Who `query` may mean: people whose name (or one of its words) or address starts with it,
 * those whose name starts with it first, then by name; at most a handful.
 */
export function filterMentionable(people: readonly Mentionable[], query: string, limit = MAX_SHOWN): Mentionable[] {
  const q = folded(query);
  const rank = (p: Mentionable): number => {
    const name = folded(p.name);
    if (name.startsWith(q)) return 0;
    if (name.split(/\s+/).some((word) => word.startsWith(q))) return 1;
    return folded(p.email).startsWith(q) ? 2 : -1;
  };
  return people
    .map((person) => ({ person, rank: rank(person) }))
    .filter((x) => x.rank >= 0)
    .sort((a, b) => a.rank - b.rank || a.person.name.localeCompare(b.person.name))
    .slice(0, limit)
    .map((x) => x.person);
}

/** The text with the `@query` at `at` replaced by `@Name `, and where the caret goes. */
export function insertMention(text: string, at: MentionQuery, name: string): { text: string; caret: number } {
  const inserted = `@${name} `;
  const end = at.start + 1 + at.query.length;
  const rest = text.slice(end).replace(/^ /, "");
  return { text: text.slice(0, at.start) + inserted + rest, caret: at.start + inserted.length };
}

/**
 * The ids of the people the text still names as `@Name` (the whole name, not followed by more
 * of a word). At each `@` the longest name wins ("@Ann Lee" is Ann Lee, not Ann). A name two
 * people share means the one chosen from the list (`picked`: name → id); typed by hand, it
 * means nobody, rather than someone it may not be.
 */
export function mentionedIds(text: string, people: readonly Mentionable[], picked: ReadonlyMap<string, string> = new Map()): string[] {
  const byName = new Map<string, string[]>();
  for (const p of people) byName.set(p.name, [...(byName.get(p.name) ?? []), p.id]);
  const names = [...byName.keys()].filter((n) => n !== "").sort((a, b) => b.length - a.length);
  const found: string[] = [];
  for (let at = text.indexOf("@"); at >= 0; at = text.indexOf("@", at + 1)) {
    if (at > 0 && !/\s/.test(text[at - 1])) continue;
    const name = names.find((n) => text.startsWith(n, at + 1) && !/[\p{L}\p{M}\p{N}]/u.test(text[at + 1 + n.length] ?? ""));
    if (name === undefined) continue;
    const ids = byName.get(name)!;
    const id = ids.length === 1 ? ids[0] : picked.get(name);
    if (id !== undefined && ids.includes(id) && !found.includes(id)) found.push(id);
  }
  return found;
}
