/**
 * Export and import (README "Export and import"): a request that answers at once, or `202`
 * with a job when the conversion is slow. A job is followed on the live event channel (its
 * `job` events) and, in case an event is missed while the channel reconnects, by asking the
 * server now and then; the page is told how it goes through `onProgress`.
 */

import { ApiError, formatDetail, getDocument, type DocumentInfo } from "./api";
import { live, type LiveChannel, type LiveEvent } from "./live";

export type ExportFormat = "md" | "html" | "docx";

export interface Job {
  id: string;
  kind: "export" | "import";
  state: "running" | "done" | "failed";
  document_id: string | null;
  file_url?: string;
  filename?: string;
  status_code?: number;
  code?: string;
  detail?: string;
}

/** What the page shows while it waits: sent, converting on the server (a job), fetching. */
export type Stage = "sending" | "converting" | "downloading";
export type OnProgress = (stage: Stage) => void;

export interface ExportedFile {
  blob: Blob;
  filename: string;
}

export interface TransferDeps {
  fetch: typeof fetch;
  channel: Pick<LiveChannel, "subscribe">;
  /** How often to ask for a job's state besides listening for its events. */
  pollMs: number;
}

const defaults = (): TransferDeps => ({ fetch: (...args) => fetch(...args), channel: live, pollMs: 2000 });

export function exportUrl(documentId: string, format: ExportFormat, comments: boolean): string {
  const query = new URLSearchParams({ format });
  if (comments) query.set("comments", "1");
  return `/api/documents/${encodeURIComponent(documentId)}/export?${query}`;
}

/** The file name a `Content-Disposition` header gives (its UTF-8 form first), or `fallback`. */
export function filenameFrom(header: string | null, fallback: string): string {
  if (!header) return fallback;
  const exact = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(header);
  if (exact) {
    try {
      return decodeURIComponent(exact[1].trim());
    } catch {
      /* a broken encoding: try the plain name */
    }
  }
  const plain = /filename\s*=\s*"([^"]*)"/i.exec(header) ?? /filename\s*=\s*([^;]+)/i.exec(header);
  return plain ? plain[1].trim() : fallback;
}

async function refusal(response: Response): Promise<ApiError> {
  let detail = "";
  let code: string | null = null;
  try {
    const data: unknown = await response.json();
    if (data && typeof data === "object") {
      if ("detail" in data) detail = formatDetail((data as { detail: unknown }).detail);
      if ("code" in data && typeof data.code === "string") code = data.code;
    }
  } catch {
    /* not JSON */
  }
  return new ApiError(response.status, detail || `Request failed (${response.status}).`, code);
}

function failure(job: Job): ApiError {
  return new ApiError(job.status_code ?? 500, job.detail ?? "The conversion failed.", job.code ?? null);
}

/** Wait for a job to end: resolves with it when done, rejects with its refusal if it failed. */
export function followJob(jobId: string, deps: TransferDeps): Promise<Job> {
  return new Promise<Job>((resolve, reject) => {
    let finished = false;
    const finish = (job: Job): void => {
      if (finished || job.state === "running") return;
      finished = true;
      unsubscribe();
      clearInterval(timer);
      if (job.state === "done") resolve(job);
      else reject(failure(job));
    };
    const onEvent = (event: LiveEvent): void => {
      const job = event.job as Job | undefined;
      if (event.type === "job" && job && job.id === jobId) finish(job);
    };
    const ask = async (): Promise<void> => {
      try {
        const response = await deps.fetch(`/api/jobs/${encodeURIComponent(jobId)}`, { credentials: "same-origin" });
        if (response.ok) finish((await response.json()) as Job);
        else if (!finished) {
          finished = true;
          unsubscribe();
          clearInterval(timer);
          reject(await refusal(response));
        }
      } catch {
        /* unreachable for now: the next tick or the event will tell */
      }
    };
    const unsubscribe = deps.channel.subscribe({ onEvent, resync: () => void ask() });
    const timer = setInterval(() => void ask(), deps.pollMs);
    void ask();
  });
}

async function fileOf(response: Response, fallback: string): Promise<ExportedFile> {
  return { blob: await response.blob(), filename: filenameFrom(response.headers.get("Content-Disposition"), fallback) };
}

export async function exportDocument(
  documentId: string,
  format: ExportFormat,
  comments: boolean,
  onProgress: OnProgress = () => {},
  deps: TransferDeps = defaults(),
): Promise<ExportedFile> {
  onProgress("sending");
  const fallback = `document.${format}`;
  const response = await deps.fetch(exportUrl(documentId, format, comments), { credentials: "same-origin" });
  if (response.status === 202) {
    const { job_id: jobId } = (await response.json()) as { job_id: string };
    onProgress("converting");
    const job = await followJob(jobId, deps);
    onProgress("downloading");
    const file = await deps.fetch(job.file_url ?? `/api/jobs/${encodeURIComponent(jobId)}/file`, { credentials: "same-origin" });
    if (!file.ok) throw await refusal(file);
    return fileOf(file, job.filename ?? fallback);
  }
  if (!response.ok) throw await refusal(response);
  return fileOf(response, fallback);
}

/** Import a file as a new private document; resolves with it. */
export async function importFile(
  file: File,
  onProgress: OnProgress = () => {},
  deps: TransferDeps = defaults(),
  loadDocument: (id: string) => Promise<DocumentInfo> = getDocument,
): Promise<DocumentInfo> {
  onProgress("sending");
  const body = new FormData();
  body.append("file", file, file.name);
  const response = await deps.fetch("/api/documents/import", { method: "POST", body, credentials: "same-origin" });
  if (response.status === 202) {
    const { job_id: jobId } = (await response.json()) as { job_id: string };
    onProgress("converting");
    const job = await followJob(jobId, deps);
    if (!job.document_id) throw new ApiError(500, "The import finished without a document.");
    return loadDocument(job.document_id);
  }
  if (!response.ok) throw await refusal(response);
  return (await response.json()) as DocumentInfo;
}

/** Hand a file to the browser as a download. */
export function saveFile(file: ExportedFile): void {
  const url = URL.createObjectURL(file.blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = file.filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export const STAGE_TEXT: Record<Stage, string> = {
  sending: "Preparing…",
  converting: "Still converting on the server…",
  downloading: "Downloading…",
};
