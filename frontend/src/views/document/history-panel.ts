/**
 * The history panel of a document page (the owner and editors): its versions, newest first,
 * with when, who edited and how many words changed; naming the current state; opening a
 * version read-only, comparing it with the current text, and restoring it whole or one section
 * at a time, after a confirmation. A restore is an edit like any other: the page's editors show
 * it as it arrives on the socket, and the list gains a "Restored from …" entry.
 */

import {
  diffVersion,
  listVersions,
  nameVersion,
  openVersion,
  restoreVersion,
  type Version,
  type VersionContent,
} from "../../api";
import { button, errorText, h, setMessage, toast } from "../../dom";
import { diffPieces, editorsLine, restoreQuestion, versionLabel, versionTime, wordsLine } from "./history";
import type { DocState } from "./state";

export function openHistoryPanel(state: DocState): void {
  const panel = new HistoryPanel(state);
  panel.open();
}

class HistoryPanel {
  private readonly state: DocState;
  private readonly dialog = h("dialog", { class: "dialog history-dialog", id: "history-dialog", "aria-labelledby": "history-heading" });
  private readonly list = h("ol", { class: "version-list", id: "version-list" });
  private readonly detail = h("section", { class: "version-detail", id: "version-detail", "aria-live": "polite" });
  private readonly error = h("p", { class: "alert alert-error", role: "alert" });

  constructor(state: DocState) {
    this.state = state;
    this.error.hidden = true;
  }

  open(): void {
    const nameInput = h("input", { id: "version-name", class: "input", maxlength: 200, placeholder: "e.g. Sent to client", "aria-label": "Name the current version", required: true });
    const nameForm = h(
      "form",
      { class: "row version-name-form" },
      nameInput,
      h("button", { type: "submit", class: "btn btn-primary", id: "name-version" }, "Name this version"),
    );
    nameForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const name = nameInput.value.trim();
      if (!name) return;
      void this.run(async () => {
        await nameVersion(this.state.id, name);
        nameInput.value = "";
        toast(`Version “${name}” named.`);
        await this.loadList();
      });
    });
    this.dialog.append(
      h("div", { class: "dialog-head" }, h("h2", { id: "history-heading" }, "History"), button("Close", { class: "btn btn-ghost", id: "close-history" }, () => this.dialog.close())),
      h("div", { class: "dialog-body history-body" }, h("div", { class: "history-side" }, nameForm, this.error, this.list), this.detail),
    );
    this.dialog.addEventListener("close", () => this.dialog.remove());
    document.body.append(this.dialog);
    this.dialog.showModal();
    void this.run(() => this.loadList());
  }

  private async run(work: () => Promise<void>): Promise<void> {
    setMessage(this.error, "");
    try {
      await work();
    } catch (error) {
      setMessage(this.error, errorText(error));
    }
  }

  private async loadList(): Promise<void> {
    const versions = await listVersions(this.state.id);
    if (versions.length === 0) {
      this.list.replaceChildren(h("li", { class: "muted" }, "No versions yet: one is kept when editing pauses, or name the current one."));
      return;
    }
    this.list.replaceChildren(...versions.map((version) => this.item(version)));
  }

  private item(version: Version): HTMLLIElement {
    return h(
      "li",
      { class: `version-item version-${version.kind}`, "data-version-id": version.id },
      h("div", { class: "version-name" }, versionLabel(version)),
      h("div", { class: "muted small" }, versionTime(version)),
      h("div", { class: "small" }, editorsLine(version)),
      h("div", { class: "small version-words" }, wordsLine(version)),
      button("Open", { class: "btn btn-sm open-version" }, () => void this.run(() => this.show(version.id))),
    );
  }

  /** A version read-only, with what I may restore of it. */
  private async show(versionId: string): Promise<void> {
    const version = await openVersion(this.state.id, versionId);
    const { caps } = this.state;
    // Bringing a deleted section back restructures the document.
    const restorable = (s: VersionContent["sections"][number]): boolean =>
      !s.deleted && caps.canRestoreSection(s.section_id) && (!s.deleted_now || caps.canStructure);
    const live = version.sections.filter((s) => !s.deleted);
    const actions = h("div", { class: "row" }, button("Compare with now", { class: "btn", id: "compare-version" }, () => void this.run(() => this.compare(version))));
    if (live.length > 0 && live.every(restorable)) {
      actions.append(button("Restore whole document", { class: "btn btn-primary", id: "restore-all" }, () => void this.restore(version, null)));
    }
    this.detail.replaceChildren(
      h("h3", {}, versionLabel(version)),
      h("p", { class: "muted small" }, `${versionTime(version)} · ${editorsLine(version)}`),
      actions,
      ...live.map((s) =>
        h(
          "article",
          { class: "version-section", "data-section-id": s.section_id },
          h("h4", {}, s.title, s.deleted_now ? h("span", { class: "badge" }, " deleted since") : null),
          h("pre", { class: "version-text" }, s.text),
          restorable(s)
            ? button(s.deleted_now ? "Bring this section back" : "Restore this section", { class: "btn btn-sm restore-section" }, () => void this.restore(version, s))
            : null,
        ),
      ),
    );
  }

  private async compare(version: VersionContent): Promise<void> {
    const diff = await diffVersion(this.state.id, version.id);
    this.detail.replaceChildren(
      h("h3", {}, `${versionLabel(version)} compared with now`),
      h("p", { class: "muted small" }, "Highlighted: what the current text added; struck through: what it no longer has."),
      button("Back to the version", { class: "btn btn-sm" }, () => void this.run(() => this.show(version.id))),
      ...diff.sections.map((s) =>
        h(
          "article",
          { class: "version-section", "data-section-id": s.section_id },
          h("h4", {}, s.title),
          h(
            "pre",
            { class: "version-diff" },
            diffPieces(s.runs).map((piece) => (piece.kind === "same" ? piece.text : h(piece.kind, {}, piece.text))),
          ),
        ),
      ),
    );
  }

  private async restore(version: VersionContent, section: VersionContent["sections"][number] | null): Promise<void> {
    if (!window.confirm(restoreQuestion(version, section ? section.title : null))) return;
    await this.run(async () => {
      await restoreVersion(this.state.id, version.id, section ? [section.section_id] : undefined);
      toast(section ? `“${section.title}” restored.` : "The document was restored.");
      await this.loadList();
      await this.show(version.id);
    });
  }
}
