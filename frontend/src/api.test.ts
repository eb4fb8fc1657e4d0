import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, api } from "./api";

// A stand-in for the network (no server runs under vitest): fetch answers with a real Response.
function fakeFetch(status: number, body: unknown, headers: Record<string, string> = {}): void {
  vi.stubGlobal("fetch", async () => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } }));
}

afterEach(() => vi.unstubAllGlobals());

async function refusal(): Promise<ApiError> {
  try {
    await api("POST", "/api/documents/d/invitations", {});
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("the request did not fail");
}

describe("ApiError: what a refusal says to the page and to people", () => {
  it("keeps the machine-readable code apart from the human detail", async () => {
    fakeFetch(409, { detail: "An invitation to this address is already pending", code: "already-pending" });
    const error = await refusal();
    expect(error).toMatchObject({ status: 409, code: "already-pending", retryAfter: null });
    expect(error.message).toBe("An invitation to this address is already pending");
  });

  it("reads when a throttled request may be tried again", async () => {
    fakeFetch(429, { detail: "Too many failed sign-in attempts; try again in 42 seconds", code: "rate-limited" }, { "Retry-After": "42" });
    expect(await refusal()).toMatchObject({ status: 429, code: "rate-limited", retryAfter: 42 });
  });

  it("has no code where the server gave none", async () => {
    fakeFetch(404, { detail: "Document not found" });
    expect(await refusal()).toMatchObject({ status: 404, code: null, message: "Document not found" });
    fakeFetch(403, { detail: "x", code: 7 });
    expect((await refusal()).code).toBeNull();
  });

  it("reads a 422 the server raised itself as it reads request validation's: field and message", async () => {
    fakeFetch(422, { detail: [{ loc: ["body", "sections"], msg: "Only an editor can be limited to sections", type: "editor-only" }] });
    expect(await refusal()).toMatchObject({ status: 422, code: null, message: "sections: Only an editor can be limited to sections" });
  });
});
