import { describe, expect, it } from "vitest";
import { ApiError } from "./api";
import type { Subscription } from "./live";
import { exportDocument, exportUrl, filenameFrom, importFile, type Job, type Stage, type TransferDeps } from "./transfer";

type Answer = { status: number; body?: unknown; blob?: string; headers?: Record<string, string> };

/** A server that answers each path from a list of answers, in turn, and records requests. */
function server(routes: Record<string, Answer[]>) {
  const requests: { url: string; init?: RequestInit }[] = [];
  const subscriptions: Subscription[] = [];
  const deps: TransferDeps = {
    pollMs: 60_000,
    channel: {
      subscribe(subscription) {
        subscriptions.push(subscription);
        return () => subscriptions.splice(subscriptions.indexOf(subscription), 1);
      },
    },
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input);
      requests.push({ url, init });
      const queue = routes[url.split("?")[0]] ?? [];
      const answer = queue.length > 1 ? queue.shift()! : queue[0];
      if (!answer) return new Response(JSON.stringify({ detail: "Not found" }), { status: 404 });
      const body = answer.blob ?? (answer.body === undefined ? null : JSON.stringify(answer.body));
      return new Response(body, { status: answer.status, headers: answer.headers });
    }) as typeof fetch,
  };
  const tell = (job: Job): void => subscriptions.forEach((s) => s.onEvent({ type: "job", job }));
  return { deps, requests, subscriptions, tell };
}

const running: Job = { id: "j1", kind: "export", state: "running", document_id: "d1" };

describe("transfer", () => {
  it("builds the export address with the format and, if asked, comments", () => {
    expect(exportUrl("a b", "docx", false)).toBe("/api/documents/a%20b/export?format=docx");
    expect(exportUrl("d", "md", true)).toBe("/api/documents/d/export?format=md&comments=1");
  });

  it("reads the UTF-8 file name first, then the plain one", () => {
    expect(filenameFrom(`attachment; filename="Rapport.md"; filename*=UTF-8''Rapport%20%C3%A9t%C3%A9.md`, "x")).toBe("Rapport été.md");
    expect(filenameFrom('attachment; filename="Plain.docx"', "x")).toBe("Plain.docx");
    expect(filenameFrom(null, "fallback.html")).toBe("fallback.html");
  });

  it("downloads at once when the server answers at once", async () => {
    const { deps } = server({
      "/api/documents/d1/export": [{ status: 200, blob: "# Hi", headers: { "Content-Disposition": 'attachment; filename="Hi.md"' } }],
    });
    const stages: Stage[] = [];
    const file = await exportDocument("d1", "md", false, (s) => stages.push(s), deps);
    expect(file.filename).toBe("Hi.md");
    expect(await file.blob.text()).toBe("# Hi");
    expect(stages).toEqual(["sending"]);
  });

  it("follows a 202 job to its end through its live event, then fetches the file", async () => {
    const { deps, tell, subscriptions } = server({
      "/api/documents/d1/export": [{ status: 202, body: { job_id: "j1", job: running } }],
      "/api/jobs/j1": [{ status: 200, body: running }],
      "/api/jobs/j1/file": [{ status: 200, blob: "docx-bytes", headers: { "Content-Disposition": 'attachment; filename="Long.docx"' } }],
    });
    const stages: Stage[] = [];
    const pending = exportDocument("d1", "docx", true, (s) => stages.push(s), deps);
    await new Promise((r) => setTimeout(r, 10));
    expect(stages).toEqual(["sending", "converting"]);
    tell({ ...running, state: "done", file_url: "/api/jobs/j1/file", filename: "Long.docx" });
    const file = await pending;
    expect(file.filename).toBe("Long.docx");
    expect(stages).toEqual(["sending", "converting", "downloading"]);
    expect(subscriptions).toHaveLength(0);
  });

  it("turns a failed job into the refusal a direct answer would have been", async () => {
    const failed: Job = { id: "j2", kind: "import", state: "failed", document_id: null, status_code: 422, code: "encrypted", detail: "This Word file is password-protected" };
    const { deps } = server({
      "/api/documents/import": [{ status: 202, body: { job_id: "j2" } }],
      "/api/jobs/j2": [{ status: 200, body: failed }],
    });
    const error = await importFile(new File(["x"], "locked.docx"), () => {}, deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("encrypted");
    expect((error as ApiError).message).toContain("password-protected");
  });

  it("sends the file as multipart and reports a refusal's detail and code", async () => {
    const { deps, requests } = server({
      "/api/documents/import": [{ status: 413, body: { detail: "The file is too big", code: "too-big" } }],
    });
    const error = await importFile(new File(["a"], "big.md"), () => {}, deps).catch((e: unknown) => e);
    expect((error as ApiError).status).toBe(413);
    expect((error as ApiError).code).toBe("too-big");
    const sent = requests[0].init?.body;
    expect(sent).toBeInstanceOf(FormData);
    expect(((sent as FormData).get("file") as File).name).toBe("big.md");
  });

  it("imports at once, or loads the document a finished job names", async () => {
    const doc = { id: "new", title: "Imported" };
    const direct = server({ "/api/documents/import": [{ status: 201, body: doc }] });
    expect((await importFile(new File(["a"], "a.md"), () => {}, direct.deps)).id).toBe("new");
    const slow = server({
      "/api/documents/import": [{ status: 202, body: { job_id: "j3" } }],
      "/api/jobs/j3": [{ status: 200, body: { id: "j3", kind: "import", state: "done", document_id: "new2" } }],
    });
    const loaded = await importFile(new File(["a"], "a.md"), () => {}, slow.deps, async (id) => ({ ...doc, id }) as never);
    expect(loaded.id).toBe("new2");
  });
});
