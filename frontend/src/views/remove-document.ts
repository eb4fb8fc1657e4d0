/**
 * Taking a document off my list, from its home card or its own page: its owner moves it to
 * the trash, a member leaves it; each after a confirmation that says what follows.
 */

import { deleteDocument, removeMember, type DocumentInfo, type User } from "../api";
import { errorText, toast } from "../dom";

/** How long the trash keeps a document, in words (`WIDEN_TRASH_DAYS` may be a fraction). */
export function trashPeriod(days: number): string {
  const count = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (days >= 1) return count(Math.round(days), "day");
  const hours = days * 24;
  if (hours >= 1) return count(Math.round(hours), "hour");
  return count(Math.max(1, Math.round(hours * 60)), "minute");
}

/** The question asked before it goes; `trashDays` is the server's (unknown: not named). */
export function removeQuestion(title: string, owner: boolean, trashDays: number | undefined): string {
  if (!owner) return `Leave “${title}”? You lose access at once; only the owner can invite you again.`;
  const keep = trashDays === undefined ? "until it is purged" : `for ${trashPeriod(trashDays)}, then it is deleted for good`;
  return `Move “${title}” to the trash? Nobody else can open it from now on; you can restore it, with its members, from the Trash on your home page ${keep}.`;
}

/**
 * Ask, then delete (the owner) or leave (anyone else); says how it went. Resolves to whether
 * the document is gone from my list. `starting` runs once I confirmed, before the request.
 */
export async function removeDocument(
  doc: Pick<DocumentInfo, "id" | "title" | "role">,
  me: Pick<User, "id" | "trash_days">,
  starting: () => void = () => {},
): Promise<boolean> {
  const title = doc.title || "Untitled";
  const owner = doc.role === "owner";
  if (!window.confirm(removeQuestion(title, owner, me.trash_days))) return false;
  starting();
  try {
    if (owner) await deleteDocument(doc.id);
    else await removeMember(doc.id, me.id);
  } catch (error) {
    toast(`${owner ? "Could not move it to the trash" : "Could not leave it"}: ${errorText(error)}`, "error");
    return false;
  }
  toast(owner ? `“${title}” moved to the trash.` : `You left “${title}”.`);
  return true;
}
