/** Sorting and filtering the home page's document list: pure functions of the list. */

import type { DocumentInfo, Role } from "./api";

export type DocumentSort = "changed" | "title" | "created";
export type DocumentFilter = "all" | "owned" | "shared" | Exclude<Role, "owner">;

export const SORT_LABELS: Record<DocumentSort, string> = {
  changed: "Last change",
  title: "Title",
  created: "Newest first",
};

export const FILTER_LABELS: Record<DocumentFilter, string> = {
  all: "All documents",
  owned: "Owned by me",
  shared: "Shared with me",
  editor: "I edit",
  reviewer: "I review",
  viewer: "I view",
  progress: "I follow progress",
};

const collator = new Intl.Collator(undefined, { sensitivity: "base", numeric: true });

/** A new array: most recently changed (or created) first, or by title A–Z; ties by title. */
export function sortDocuments(documents: readonly DocumentInfo[], sort: DocumentSort): DocumentInfo[] {
  const byTitle = (a: DocumentInfo, b: DocumentInfo): number => collator.compare(a.title, b.title);
  const newest = (key: "updated_at" | "created_at") => (a: DocumentInfo, b: DocumentInfo): number =>
    Date.parse(b[key]) - Date.parse(a[key]) || byTitle(a, b);
  const compare = sort === "title" ? byTitle : newest(sort === "created" ? "created_at" : "updated_at");
  return [...documents].sort(compare);
}

export function filterDocuments(documents: readonly DocumentInfo[], filter: DocumentFilter): DocumentInfo[] {
  switch (filter) {
    case "all":
      return [...documents];
    case "owned":
      return documents.filter((d) => d.role === "owner");
    case "shared":
      return documents.filter((d) => d.role !== "owner");
    default:
      return documents.filter((d) => d.role === filter);
  }
}

export function isDocumentSort(value: string): value is DocumentSort {
  return Object.hasOwn(SORT_LABELS, value);
}

export function isDocumentFilter(value: string): value is DocumentFilter {
  return Object.hasOwn(FILTER_LABELS, value);
}
