import { describe, expect, it } from "vitest";
import { INITIAL, classifyClose, describe as badge, reduce, type ConnectionEvent, type ConnectionModel } from "./connection";

const run = (events: ConnectionEvent[], from: ConnectionModel = INITIAL): ConnectionModel => events.reduce(reduce, from);

describe("classifyClose: what a close code means for the page", () => {
  it("stops on revocation, with a plain message", () => {
    const action = classifyClose(4403, "revoked: your access was revoked", "revoked: your access was revoked");
    expect(action).toMatchObject({ kind: "stop", reason: "revoked" });
    if (action.kind === "stop") expect(action.message).toMatch(/revoked/);
  });

  it("stops when an update outside my scope was refused, quoting the server's text", () => {
    const action = classifyClose(4403, "", "out-of-scope: update outside your write scope");
    expect(action).toMatchObject({ kind: "stop", reason: "refused-write" });
    if (action.kind === "stop") expect(action.message).toContain("(update outside your write scope)");
  });

  it("decides on the reason's first word, never on words in its text", () => {
    // The text mentions "revoked" and "progress"; the word says what happened.
    expect(classifyClose(4403, "", "out-of-scope: that section was revoked from progress")).toMatchObject({ kind: "stop", reason: "refused-write" });
    expect(classifyClose(1006, "", "read-only: revoked")).toMatchObject({ kind: "stop", reason: "refused-write" });
    expect(classifyClose(4403, "Revoked")).toMatchObject({ kind: "stop", reason: "revoked" });
  });

  it("sends progress members to the progress view", () => {
    expect(classifyClose(4403, "progress-only: your role sees progress, not the text")).toMatchObject({ kind: "stop", reason: "progress-only" });
  });

  it("stops on a refused origin", () => {
    expect(classifyClose(4403, "origin: origin not allowed")).toMatchObject({ kind: "stop", reason: "origin" });
  });

  it("stops on 4404 and 4401", () => {
    expect(classifyClose(4404, "not-found")).toMatchObject({ kind: "stop", reason: "not-found" });
    expect(classifyClose(4401, "signed-out: not signed in")).toMatchObject({ kind: "stop", reason: "signed-out" });
  });

  it("re-reads access on 4409", () => {
    expect(classifyClose(4409, "access-changed: reconnect to continue with your new access")).toEqual({ kind: "access-changed" });
  });

  it("stops on a message too big, saying its size and the limit (reconnecting would loop)", () => {
    const action = classifyClose(1009, "too-big: a message of 9,000,000 bytes is over the limit of 8,388,608 bytes");
    expect(action).toMatchObject({ kind: "stop", reason: "too-big" });
    if (action.kind === "stop") expect(action.message).toContain("(a message of 9,000,000 bytes is over the limit of 8,388,608 bytes)");
    expect(classifyClose(1009, "")).toMatchObject({ kind: "stop", reason: "too-big" });
  });

  it("retries on network-level closes, server restarts and rate limits", () => {
    for (const code of [1000, 1001, 1006, 1012, 1013, 4429, 0]) {
      expect(classifyClose(code, "")).toEqual({ kind: "retry" });
    }
  });

  it("treats an auth denial as final even without a 44xx close", () => {
    expect(classifyClose(1006, "", "revoked: your access was revoked")).toMatchObject({ kind: "stop", reason: "revoked" });
  });
});

describe("the connection badge", () => {
  it("goes connecting → connected once synced", () => {
    let m = run([{ type: "status", status: "connecting" }]);
    expect(m.phase).toBe("connecting");
    m = run([{ type: "status", status: "connected" }, { type: "synced" }], m);
    expect(m.phase).toBe("connected");
    expect(badge(m).label).toBe("Connected");
  });

  it("counts edits made while disconnected and clears them after the resync", () => {
    let m = run([{ type: "synced" }, { type: "local-change" }]);
    expect(m.unsent).toBe(0); // sent at once
    m = run([{ type: "status", status: "disconnected" }, { type: "local-change" }, { type: "local-change" }], m);
    expect(m.phase).toBe("reconnecting");
    expect(m.unsent).toBe(2);
    expect(badge(m).label).toBe("Reconnecting… · unsent edits");
    m = run([{ type: "status", status: "connected" }], m);
    expect(m.unsent).toBe(2); // not yet in step
    m = run([{ type: "synced" }], m);
    expect(m).toMatchObject({ phase: "connected", unsent: 0 });
  });

  it("says offline when the browser has no network, and reconnecting when it is back", () => {
    let m = run([{ type: "synced" }, { type: "network", online: false }, { type: "local-change" }]);
    expect(m.phase).toBe("offline");
    expect(badge(m).label).toBe("Offline · unsent edits");
    expect(badge(m).tone).toBe("warn");
    m = run([{ type: "status", status: "disconnected" }], m);
    expect(m.phase).toBe("offline");
    m = run([{ type: "network", online: true }], m);
    expect(m.phase).toBe("reconnecting");
    m = run([{ type: "status", status: "connected" }, { type: "synced" }], m);
    expect(m).toMatchObject({ phase: "connected", unsent: 0 });
  });

  it("stays stopped whatever the provider reports afterwards", () => {
    let m = run([{ type: "synced" }, { type: "stopped" }]);
    m = run([{ type: "status", status: "connecting" }, { type: "synced" }, { type: "local-change" }], m);
    expect(m.phase).toBe("stopped");
    expect(badge(m).tone).toBe("error");
    expect(run([{ type: "reset" }], m).phase).toBe("connecting");
  });
});
