/**
 * The live event channel (`/ws/events`, DESIGN §8): one socket per signed-in tab that tells
 * open pages of changes to the documents the user may see, so they never poll.
 *
 * Pages subscribe with what to do on an event and how to catch up. The socket reconnects with
 * back-off after a drop; once it listens again (`ready`) every page's `resync` runs, since
 * events sent while it was away are not replayed: the page refetches what it shows instead.
 * A 4401 (signed out) stops it for good.
 */

export type LiveEvent = {
  type: string;
  document_id?: string;
  change?: string;
  [field: string]: unknown;
};

export type Listener = (event: LiveEvent) => void;

export interface Subscription {
  /** Called with every event (filter with `forDocument` or on `type`). */
  onEvent: Listener;
  /** Called when the channel listens again after a drop: refetch what the page shows. */
  resync?: () => void;
}

/** The subset of the browser's WebSocket the channel uses (a test hands in its own). */
export interface SocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

const SIGNED_OUT = 4401;
const MIN_DELAY_MS = 250;
const MAX_DELAY_MS = 10_000;

/** How long to wait before the `attempt`-th reconnection (0-based): doubling, capped, with
 *  up to a quarter of jitter so tabs do not all come back at the same instant. */
export function backoff(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** attempt);
  return Math.round(base * (1 - 0.25 * random()));
}

/** Parse a text frame; anything that is not an event object is ignored. */
export function parseEvent(data: unknown): LiveEvent | null {
  if (typeof data !== "string") return null;
  try {
    const value: unknown = JSON.parse(data);
    if (value && typeof value === "object" && typeof (value as { type?: unknown }).type === "string") {
      return value as LiveEvent;
    }
  } catch {
    /* not JSON: not for us */
  }
  return null;
}

/** A listener that only hears events about one document. */
export function forDocument(documentId: string, listener: Listener): Listener {
  return (event) => {
    if (event.document_id === documentId) listener(event);
  };
}

export function eventsUrl(loc: { protocol: string; host: string }): string {
  return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/ws/events`;
}

export class LiveChannel {
  private socket: SocketLike | null = null;
  private readonly subscriptions = new Set<Subscription>();
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private everReady = false;
  private stopped = false;

  constructor(
    private readonly url: () => string,
    private readonly factory: SocketFactory,
    private readonly schedule: (run: () => void, ms: number) => ReturnType<typeof setTimeout> = setTimeout,
    /** Told when the channel starts or stops listening (the page marks it for tests). */
    private readonly onReady: (ready: boolean) => void = () => {},
  ) {}

  /** Listen; the channel opens with the first subscription. Returns the unsubscribe. */
  subscribe(subscription: Subscription): () => void {
    this.subscriptions.add(subscription);
    this.stopped = false;
    if (!this.socket && this.timer === null) this.open();
    return () => {
      this.subscriptions.delete(subscription);
    };
  }

  /** Signed out: close and stay closed until someone subscribes again. */
  stop(): void {
    this.stopped = true;
    this.everReady = false;
    this.attempt = 0;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "signed out");
    this.onReady(false);
  }

  get connected(): boolean {
    return this.socket !== null;
  }

  private open(): void {
    this.timer = null;
    const socket = this.factory(this.url());
    this.socket = socket;
    socket.onmessage = (message) => {
      const event = parseEvent(message.data);
      if (!event || socket !== this.socket) return;
      if (event.type === "ready") {
        this.attempt = 0;
        const resync = this.everReady;
        this.everReady = true;
        this.onReady(true);
        if (resync) for (const s of [...this.subscriptions]) s.resync?.();
        return;
      }
      for (const s of [...this.subscriptions]) s.onEvent(event);
    };
    socket.onclose = (closed) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.onReady(false);
      if (closed.code === SIGNED_OUT) {
        this.stopped = true;
        return;
      }
      if (this.stopped || this.subscriptions.size === 0) return;
      this.timer = this.schedule(() => this.open(), backoff(this.attempt++));
    };
  }
}

/** The page's one channel. */
export const live = new LiveChannel(
  () => eventsUrl(location),
  (url) => new WebSocket(url) as unknown as SocketLike,
  (run, ms) => setTimeout(run, ms),
  (ready) => {
    document.documentElement.dataset.live = ready ? "ready" : "down";
  },
);

/**
 * Refetch what a page shows when an event it cares about arrives, and after a resync; events
 * arriving together cause one refetch. Returns the unsubscribe.
 */
export function refreshOn(wanted: (event: LiveEvent) => boolean, refresh: () => void, channel: LiveChannel = live, delayMs = 50): () => void {
  let queued: ReturnType<typeof setTimeout> | null = null;
  let active = true;
  const later = (): void => {
    if (queued !== null || !active) return;
    queued = setTimeout(() => {
      queued = null;
      if (active) refresh();
    }, delayMs);
  };
  const unsubscribe = channel.subscribe({ onEvent: (event) => wanted(event) && later(), resync: later });
  return () => {
    active = false;
    if (queued !== null) clearTimeout(queued);
    unsubscribe();
  };
}

/** Events of these types about this document. */
export function about(documentId: string, ...types: string[]): (event: LiveEvent) => boolean {
  return (event) => event.document_id === documentId && types.includes(event.type);
}
