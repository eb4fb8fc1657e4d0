/** Asking for a link's address, then linking the selection of an editor (or unlinking it). */

import { button, h, setMessage } from "../../dom";
import { SectionEditor, commands } from "../../editor/section-editor";
import { safeHref, schema } from "../../editor/schema";

export function toggleLink(editor: SectionEditor | null): void {
  if (!editor || !editor.editable) return;
  if (editor.isMarkActive(schema.marks.link)) {
    editor.run(commands.link(null));
    return;
  }
  const dialog = h("dialog", { class: "dialog dialog-small", "aria-labelledby": "link-heading" });
  const input = h("input", { id: "link-url", class: "input", type: "url", placeholder: "https://example.org", required: true });
  const error = h("p", { class: "alert alert-error", role: "alert" });
  error.hidden = true;
  const form = h(
    "form",
    { method: "dialog" },
    h("h2", { id: "link-heading" }, "Add a link"),
    h("div", { class: "field" }, h("label", { for: "link-url" }, "Address"), input),
    error,
    h("div", { class: "row end" }, button("Cancel", { class: "btn" }, () => dialog.close()), h("button", { type: "submit", class: "btn btn-primary" }, "Add link")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const href = safeHref(input.value);
    if (!href) {
      setMessage(error, "Enter a web (http, https) or mail address.");
      return;
    }
    dialog.close();
    editor.run(commands.link(href));
  });
  dialog.append(form);
  dialog.addEventListener("close", () => {
    dialog.remove();
    editor.view.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
}
