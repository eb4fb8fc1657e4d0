/** The document's Export menu: Markdown, HTML or Word, with or without its comments. A slow
 *  conversion (the server's `202` job) shows its progress here until the file downloads. */

import { button, errorText, h, setMessage } from "../../dom";
import { icon } from "../../icons";
import { STAGE_TEXT, exportDocument, saveFile, type ExportFormat } from "../../transfer";

const FORMATS: [ExportFormat, string][] = [
  ["md", "Markdown (.md)"],
  ["html", "Web page (.html)"],
  ["docx", "Word (.docx)"],
];

export function exportMenu(documentId: string): HTMLElement {
  const withComments = h("input", { type: "checkbox", id: "export-comments" });
  const status = h("p", { class: "muted export-status", role: "status", id: "export-status" });
  const error = h("p", { class: "alert alert-error", role: "alert", id: "export-error" });
  status.hidden = true;
  error.hidden = true;
  const choices = FORMATS.map(([format, label]) =>
    button(label, { class: "btn btn-ghost", id: `export-${format}` }, async () => {
      setMessage(error, "");
      choices.forEach((choice) => (choice.disabled = true));
      try {
        const file = await exportDocument(documentId, format, withComments.checked, (stage) =>
          setMessage(status, STAGE_TEXT[stage]),
        );
        saveFile(file);
        setMessage(status, `Downloaded ${file.filename}`);
      } catch (failure) {
        setMessage(status, "");
        setMessage(error, `Export failed: ${errorText(failure)}`);
      } finally {
        choices.forEach((choice) => (choice.disabled = false));
      }
    }),
  );
  return h(
    "details",
    { class: "export-menu", id: "export-menu" },
    h("summary", { class: "btn btn-ghost", id: "export-button" }, icon("file", 16), "Export"),
    h(
      "div",
      { class: "export-panel", role: "group", "aria-label": "Export this document" },
      ...choices,
      h("label", { class: "export-comments" }, withComments, " Include comments"),
      status,
      error,
    ),
  );
}
