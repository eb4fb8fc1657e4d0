/**
 * What every part of the document page reads: the document, my capabilities in it, its
 * sections and members, and the live session. The page owns and replaces these; the parts only
 * read them, so they always draw from the same, latest answer of the server.
 */

import type { DocumentInfo, Member, Section } from "../../api";
import type { AppContext } from "../../context";
import type { Capabilities } from "../../permissions";
import type { DocSession } from "../../session";

export class DocState {
  readonly ctx: AppContext;
  readonly id: string;
  info!: DocumentInfo;
  caps!: Capabilities;
  sections: Section[] = [];
  members: Member[] = [];
  session: DocSession | null = null;
  destroyed = false;
  /** I am moving it to the trash or leaving it myself: the server closing it is no news. */
  leaving = false;

  constructor(ctx: AppContext, id: string) {
    this.ctx = ctx;
    this.id = id;
  }

  sectionTitle(sectionId: string): string | undefined {
    return this.sections.find((s) => s.id === sectionId)?.title;
  }

  /** The sections in document order (the server's `position`). */
  ordered(): Section[] {
    return [...this.sections].sort((a, b) => a.position - b.position);
  }
}
