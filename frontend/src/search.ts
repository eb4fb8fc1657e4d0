/**
 * Search results as the server sends them (GET /api/search), and how a snippet's marks are
 * read. The server marks each matched word with U+E000 … U+E001, characters that never occur
 * in indexed text; the snippet is plain text and is only ever rendered as text nodes, with the
 * marked runs in <mark> elements, so nothing in a document can become HTML on this page.
 */

import { api } from "./api";

export interface SearchHit {
  document_id: string;
  title: string;
  /** The best-matching section; null for a document without sections. */
  section_id: string | null;
  section_title: string | null;
  snippet: string;
}

export const MARK_START = "\ue000";
export const MARK_END = "\ue001";
/** What the server accepts (app/search/words.py): longer queries are cut, not sent. */
export const MAX_QUERY_CHARS = 200;

export interface SnippetPart {
  text: string;
  match: boolean;
}

/** A snippet as runs of plain and matched text (a stray or unclosed mark is dropped). */
export function snippetParts(snippet: string): SnippetPart[] {
  const parts: SnippetPart[] = [];
  let rest = snippet;
  while (rest) {
    const start = rest.indexOf(MARK_START);
    if (start === -1) {
      parts.push({ text: rest, match: false });
      break;
    }
    if (start > 0) parts.push({ text: rest.slice(0, start), match: false });
    const afterStart = rest.slice(start + 1);
    const end = afterStart.indexOf(MARK_END);
    const matched = end === -1 ? afterStart : afterStart.slice(0, end);
    if (matched) parts.push({ text: matched, match: true });
    rest = end === -1 ? "" : afterStart.slice(end + 1);
  }
  return parts
    .map((part) => ({ ...part, text: part.text.replaceAll(MARK_START, "").replaceAll(MARK_END, "") }))
    .filter((part) => part.text !== "");
}

/** True when a query has something the server searches for (a letter or digit). */
export function isSearchable(query: string): boolean {
  return /[\p{L}\p{N}]/u.test(query);
}

export function search(query: string, limit = 20): Promise<SearchHit[]> {
  const params = new URLSearchParams({ q: query.slice(0, MAX_QUERY_CHARS), limit: String(limit) });
  return api<SearchHit[]>("GET", `/api/search?${params}`);
}
