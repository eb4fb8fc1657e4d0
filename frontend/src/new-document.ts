/**
 * A new document opens ready to write in: it gets one empty section, and the document page
 * puts the caret in it once the text is live. The page learns that a document is new from
 * here, within this tab, so reopening a document later never moves the caret on its own.
 */

import { createDocument, createSection, type DocumentInfo } from "./api";
import { errorText, toast } from "./dom";

const justCreated = new Set<string>();

export async function createDocumentToWrite(title: string): Promise<DocumentInfo> {
  const created = await createDocument(title);
  try {
    await createSection(created.id, "Untitled section");
    justCreated.add(created.id);
  } catch (error) {
    // The document exists: open it anyway; its page offers to add the first section.
    toast(`Could not add the first section: ${errorText(error)}`, "error");
  }
  return created;
}

/** Whether this document was just created here (asked once: the answer is then forgotten). */
export function takeJustCreated(documentId: string): boolean {
  return justCreated.delete(documentId);
}
