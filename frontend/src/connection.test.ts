import { describe, expect, it } from "vitest";
import { INITIAL, classifyClose, describe as badge, reduce, type ConnectionEvent, type ConnectionModel } from "./connection";

const run = (events: ConnectionEvent[], from: ConnectionModel = INITIAL): ConnectionModel => events.reduce(reduce, from);

describe("classifyClose: what a close code means for the page", () => {
  it("stops on revocation, with a plain message", () => {
    const action = classifyClose(4403, "access revoked", "access revoked");
    expect(action).toMatchObject({ kind: "stop", reason: "revoked" });
    if (action.kind === "stop") expect(action.message).toMatch(/revoked/);
  });

  it("stops when an update outside my scope was refused, quoting the reason", () => {
    const action = classifyClose(4403, "write outside scope", "write outside scope: section:x");
    expect(action).toMatchObject({ kind: "stop", reason: "refused-write" });
    if (action.kind === "stop") expect(action.message).toContain("write outside scope: section:x");
  });

  it("sends progress members to the progress view", () => {
    expect(classifyClose(4403, "your role sees progress, not the text")).toMatchObject({ kind: "stop", reason: "progress-only" });
  });

  it("stops on 4404 and 4401", () => {
    expect(classifyClose(4404, "not found")).toMatchObject({ kind: "stop", reason: "not-found" });
    expect(classifyClose(4401, "not signed in")).toMatchObject({ kind: "stop", reason: "signed-out" });
  });

  it("re-reads access on 4409", () => {
    expect(classifyClose(4409, "access changed")).toEqual({ kind: "access-changed" });
  });

  it("retries on network-level closes and server restarts", () => {
    for (const code of [1000, 1001, 1006, 1009, 1012, 1013, 0]) {
      expect(classifyClose(code, "")).toEqual({ kind: "retry" });
    }
  });

  it("treats an auth denial as final even without a 44xx close", () => {
    expect(classifyClose(1006, "", "access revoked")).toMatchObject({ kind: "stop", reason: "revoked" });
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
