import { describe, expect, it } from "vitest";
import { LiveChannel, about, backoff, eventsUrl, forDocument, parseEvent, refreshOn, type LiveEvent, type SocketLike } from "./live";

class FakeSocket implements SocketLike {
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  closedWith: number | null = null;
  constructor(readonly url: string) {}
  close(code?: number): void {
    this.closedWith = code ?? 1000;
  }
  say(event: object): void {
    this.onmessage?.({ data: JSON.stringify(event) });
  }
  drop(code = 1006): void {
    this.onclose?.({ code, reason: "" });
  }
}

function harness() {
  const sockets: FakeSocket[] = [];
  const pending: { run: () => void; ms: number }[] = [];
  const readiness: boolean[] = [];
  const channel = new LiveChannel(
    () => "ws://example/ws/events",
    (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    (run, ms) => {
      pending.push({ run, ms });
      return 0 as unknown as ReturnType<typeof setTimeout>;
    },
    (ready) => readiness.push(ready),
  );
  return { sockets, pending, readiness, channel };
}

describe("backoff", () => {
  it("doubles from a quarter second up to ten seconds, less up to a quarter of jitter", () => {
    expect(backoff(0, () => 0)).toBe(250);
    expect(backoff(3, () => 0)).toBe(2000);
    expect(backoff(20, () => 0)).toBe(10_000);
    expect(backoff(20, () => 1)).toBe(7500);
  });
});

describe("parseEvent", () => {
  it("keeps JSON objects with a type and ignores anything else", () => {
    expect(parseEvent('{"type":"section","document_id":"d"}')).toEqual({ type: "section", document_id: "d" });
    expect(parseEvent("not json")).toBeNull();
    expect(parseEvent('{"no":"type"}')).toBeNull();
    expect(parseEvent(new ArrayBuffer(2))).toBeNull();
  });
});

describe("eventsUrl", () => {
  it("speaks wss under https", () => {
    expect(eventsUrl({ protocol: "https:", host: "widen.example" })).toBe("wss://widen.example/ws/events");
    expect(eventsUrl({ protocol: "http:", host: "127.0.0.1:8000" })).toBe("ws://127.0.0.1:8000/ws/events");
  });
});

describe("LiveChannel", () => {
  it("opens with the first subscription and passes events on, filtered per document", () => {
    const { sockets, channel } = harness();
    const heard: LiveEvent[] = [];
    channel.subscribe({ onEvent: forDocument("d1", (e) => heard.push(e)) });
    expect(sockets).toHaveLength(1);
    sockets[0].say({ type: "ready" });
    sockets[0].say({ type: "document", document_id: "d2", change: "renamed" });
    sockets[0].say({ type: "document", document_id: "d1", change: "renamed" });
    expect(heard.map((e) => e.document_id)).toEqual(["d1"]);
  });

  it("reconnects after a drop and asks pages to resync once it listens again", () => {
    const { sockets, pending, readiness, channel } = harness();
    let resyncs = 0;
    channel.subscribe({ onEvent: () => {}, resync: () => resyncs++ });
    sockets[0].say({ type: "ready" });
    expect(resyncs).toBe(0);
    sockets[0].drop();
    sockets[0].drop(); // a stale close of the same socket changes nothing
    expect(pending).toHaveLength(1);
    expect(pending[0].ms).toBeLessThanOrEqual(250);
    pending[0].run();
    expect(sockets).toHaveLength(2);
    sockets[1].drop();
    expect(pending[1].ms).toBeGreaterThan(250); // backing off
    pending[1].run();
    sockets[2].say({ type: "ready" });
    expect(resyncs).toBe(1);
    expect(readiness).toEqual([true, false, false, true]);
  });

  it("stops for good when the server says signed out, and when told to", () => {
    const { sockets, pending, channel } = harness();
    channel.subscribe({ onEvent: () => {} });
    sockets[0].drop(4401);
    expect(pending).toHaveLength(0);
    channel.subscribe({ onEvent: () => {} });
    expect(sockets).toHaveLength(2);
    channel.stop();
    expect(sockets[1].closedWith).toBe(1000);
    sockets[1].drop();
    expect(pending).toHaveLength(0);
  });
});

describe("refreshOn", () => {
  it("refetches once for events arriving together, and after a resync, until unsubscribed", async () => {
    const { sockets, channel } = harness();
    let refreshes = 0;
    const stop = refreshOn(about("d1", "section"), () => refreshes++, channel, 5);
    sockets[0].say({ type: "ready" });
    sockets[0].say({ type: "section", document_id: "d1", change: "added" });
    sockets[0].say({ type: "section", document_id: "d1", change: "updated" });
    sockets[0].say({ type: "section", document_id: "d2", change: "added" });
    sockets[0].say({ type: "comment", document_id: "d1", change: "created" });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(refreshes).toBe(1);
    stop();
    sockets[0].say({ type: "section", document_id: "d1", change: "added" });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(refreshes).toBe(1);
  });
});
