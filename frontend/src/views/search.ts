/**
 * The home page's search box and results, and the controls that sort and filter its
 * document list. Kept apart from views/home.ts, which only mounts them.
 */

import type { Role } from "../api";
import { type DocumentFilter, type DocumentSort, FILTER_LABELS, isDocumentFilter, isDocumentSort, SORT_LABELS } from "../doclist";
import { errorText, h } from "../dom";
import { docHref, progressHref } from "../routes";
import { isSearchable, MAX_QUERY_CHARS, search, type SearchHit, snippetParts } from "../search";

/** Results appear this long after the last keystroke. */
const TYPING_PAUSE_MS = 250;
/** How long a followed result waits for its section to appear on the document page. */
const REVEAL_WITHIN_MS = 10_000;

/** The snippet as text, the matches in <mark>: never parsed as HTML. */
export function renderSnippet(snippet: string): HTMLElement {
  return h(
    "p",
    { class: "search-snippet" },
    ...snippetParts(snippet).map((part) => (part.match ? h("mark", {}, part.text) : part.text)),
  );
}

/** Once the document page shows the section, scroll to it. */
function revealSection(sectionId: string): void {
  const selector = `[data-section-id="${CSS.escape(sectionId)}"]`;
  const reveal = (): boolean => {
    const card = document.querySelector<HTMLElement>(selector);
    if (!card) return false;
    card.scrollIntoView({ block: "start" });
    return true;
  };
  const observer = new MutationObserver(() => {
    if (reveal()) observer.disconnect();
  });
  observer.observe(document.body, { childList: true, subtree: true });
  setTimeout(() => observer.disconnect(), REVEAL_WITHIN_MS);
}

function resultItem(hit: SearchHit, roleOf: (documentId: string) => Role | undefined): HTMLElement {
  const href = roleOf(hit.document_id) === "progress" ? progressHref(hit.document_id) : docHref(hit.document_id);
  const link = h("a", { href, class: "doc-link" }, hit.title || "Untitled");
  const sectionId = hit.section_id;
  if (sectionId) link.addEventListener("click", () => revealSection(sectionId));
  return h(
    "li",
    { class: "search-result", "data-document-id": hit.document_id },
    h("div", { class: "search-result-head" }, link, hit.section_title ? h("span", { class: "muted small" }, `§ ${hit.section_title}`) : null),
    renderSnippet(hit.snippet),
  );
}

/**
 * A search box: results as one types (after a short pause), the newest query's only.
 * `roleOf` tells which documents the user only follows (their results open the progress page).
 */
export function searchPanel(roleOf: (documentId: string) => Role | undefined): HTMLElement {
  const input = h("input", {
    id: "search-query",
    name: "q",
    class: "input",
    type: "search",
    maxlength: MAX_QUERY_CHARS,
    autocomplete: "off",
    placeholder: "Words in titles and text",
  });
  const status = h("p", { class: "muted small", role: "status", id: "search-status" });
  const results = h("ul", { class: "doc-list search-results", id: "search-results", "aria-labelledby": "search-heading" });
  let asked = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const run = async (): Promise<void> => {
    const query = input.value.trim();
    const ticket = ++asked;
    if (!isSearchable(query)) {
      results.replaceChildren();
      status.textContent = query ? "Type a word to search for." : "";
      return;
    }
    status.textContent = "Searching…";
    try {
      const hits = await search(query);
      if (ticket !== asked) return; // a newer query is under way
      results.replaceChildren(...hits.map((hit) => resultItem(hit, roleOf)));
      status.textContent = hits.length === 0 ? `Nothing found for “${query}”.` : `${hits.length} document${hits.length === 1 ? "" : "s"} found.`;
    } catch (error) {
      if (ticket !== asked) return;
      results.replaceChildren();
      status.textContent = `Search failed: ${errorText(error)}`;
    }
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => void run(), TYPING_PAUSE_MS);
  });
  const form = h(
    "form",
    { class: "search-form", role: "search", "aria-label": "Search documents" },
    h("label", { for: "search-query", class: "visually-hidden" }, "Search documents"),
    h("div", { class: "row" }, input, h("button", { type: "submit", class: "btn" }, "Search")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    void run();
  });
  return h("section", { class: "search-panel", "aria-labelledby": "search-heading" }, h("h2", { id: "search-heading", class: "visually-hidden" }, "Search"), form, status, results);
}

export interface ListControls {
  element: HTMLElement;
  sort(): DocumentSort;
  filter(): DocumentFilter;
}

/** Sort and filter selects for the document list; `onChange` runs after either changes. */
export function listControls(onChange: () => void): ListControls {
  const select = <T extends string>(id: string, label: string, options: Record<T, string>): HTMLSelectElement => {
    const el = h("select", { id, class: "input input-sm", "aria-label": label }, ...Object.entries<string>(options).map(([value, text]) => h("option", { value }, text)));
    el.addEventListener("change", onChange);
    return el;
  };
  const sort = select("doc-sort", "Sort documents by", SORT_LABELS);
  const filter = select("doc-filter", "Show documents", FILTER_LABELS);
  return {
    element: h("div", { class: "list-controls row" }, h("label", { for: "doc-sort", class: "muted small" }, "Sort"), sort, h("label", { for: "doc-filter", class: "muted small" }, "Show"), filter),
    sort: () => (isDocumentSort(sort.value) ? sort.value : "changed"),
    filter: () => (isDocumentFilter(filter.value) ? filter.value : "all"),
  };
}
