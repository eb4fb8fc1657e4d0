import type * as Y from "yjs";
import { diffText, transformSelection, type DeltaOp } from "./textdiff";

/**
 * Two-way binding between a <textarea> and a Y.Text.
 *
 * Local edits: on every 'input' event the smallest changed range between the Y.Text (which
 * always equals what the textarea showed before the event) and the new textarea value is
 * applied as one delete + insert inside a single transaction, so concurrent edits elsewhere
 * in the text are kept.
 *
 * Remote edits: the Y.Text event's delta is used to move the selection (caret) the way the
 * text moved around it, then the new text is shown and the moved selection restored, along
 * with the scroll position.
 *
 * Returns a function that removes the binding.
 */
export function bindTextarea(textarea: HTMLTextAreaElement, ytext: Y.Text): () => void {
  const doc = ytext.doc;
  if (!doc) {
    throw new Error("The Y.Text must belong to a Y.Doc before it is bound");
  }
  // Transactions made by this binding carry this origin so that their echo is ignored.
  const origin = { binding: "textarea" };

  const show = (value: string): void => {
    if (textarea.value !== value) {
      textarea.value = value;
    }
  };

  const onInput = (): void => {
    const before = ytext.toString();
    const after = textarea.value;
    if (before === after) {
      return;
    }
    const caret =
      textarea.selectionStart === textarea.selectionEnd ? textarea.selectionEnd : undefined;
    const change = diffText(before, after, caret);
    doc.transact(() => {
      if (change.deleteCount > 0) {
        ytext.delete(change.index, change.deleteCount);
      }
      if (change.insert.length > 0) {
        ytext.insert(change.index, change.insert);
      }
    }, origin);
  };

  const onRemote = (event: Y.YTextEvent, transaction: Y.Transaction): void => {
    if (transaction.origin === origin) {
      return;
    }
    const { selectionStart, selectionEnd, selectionDirection, scrollTop } = textarea;
    const selection = transformSelection(
      selectionStart,
      selectionEnd,
      event.delta as DeltaOp[],
    );
    show(ytext.toString());
    const length = textarea.value.length;
    textarea.setSelectionRange(
      Math.min(selection.start, length),
      Math.min(selection.end, length),
      selectionDirection ?? undefined,
    );
    textarea.scrollTop = scrollTop;
  };

  show(ytext.toString());
  textarea.addEventListener("input", onInput);
  ytext.observe(onRemote);

  return () => {
    textarea.removeEventListener("input", onInput);
    ytext.unobserve(onRemote);
  };
}
