/**
 * The live side of one open document: ONE Y.Doc and ONE WebsocketProvider (room = document id,
 * authenticated by the session cookie), its awareness, and the connection's life (close codes,
 * offline, unsent edits). Editors for the sections bind to roots of `ydoc`.
 */

import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import * as decoding from "lib0/decoding";
import {
  INITIAL,
  classifyClose,
  reduce,
  type CloseAction,
  type ConnectionEvent,
  type ConnectionModel,
} from "./connection";

const MESSAGE_AUTH = 2;

export interface SessionHandlers {
  /** The connection badge changed. */
  onModel(model: ConnectionModel): void;
  /** The server closed with a code that ends the session (4401/4403/4404), or sent a denial. */
  onStop(action: Extract<CloseAction, { kind: "stop" }>): void;
  /** 4409: my access changed. The provider is paused; call resume() or replace the session. */
  onAccessChanged(): void;
  /** The awareness states changed (presence, cursors, metadata bumps). */
  onAwareness(): void;
  /**
   * The network is back after edits were made offline. The provider waits: call resume() (or
   * replace the session) once access is checked.
   */
  onBackOnline(): void;
}

export interface LocalUser {
  id: string;
  name: string;
  color: string;
}

export function websocketBase(loc: Pick<Location, "protocol" | "host"> = location): string {
  return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/ws`;
}

export class DocSession {
  readonly ydoc: Y.Doc;
  readonly provider: WebsocketProvider;
  model: ConnectionModel = INITIAL;
  stopped = false;
  private readonly handlers: SessionHandlers;
  private deniedReason: string | null = null;
  private readonly cleanups: (() => void)[] = [];

  constructor(documentId: string, user: LocalUser, handlers: SessionHandlers) {
    this.handlers = handlers;
    this.ydoc = new Y.Doc();
    // BroadcastChannel off: every edit goes through the server, which checks it.
    this.provider = new WebsocketProvider(websocketBase(), documentId, this.ydoc, {
      connect: false,
      disableBc: true,
      maxBackoffTime: 5000,
      // Also a heartbeat: y-websocket drops a socket that received nothing for 30 s, which
      // is what a quiet room with one person in it looks like otherwise.
      resyncInterval: 10_000,
    });
    // The server answers a refused update or a revocation with [2, 0, reason] just before
    // closing; keep the reason for the close handler (y-websocket only logs it).
    this.provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder) => {
      const type = decoding.readVarUint(decoder);
      if (type === 0) this.deniedReason = decoding.readVarString(decoder);
    };
    this.provider.awareness.setLocalStateField("user", { id: user.id, name: user.name, color: user.color });

    this.provider.on("status", ({ status }: { status: "connecting" | "connected" | "disconnected" }) => {
      if (status === "connected") this.announceAgain();
      if (status === "disconnected") this.forgetOthers();
      this.dispatch({ type: "status", status });
    });
    this.provider.on("sync", (synced: boolean) => {
      if (synced) this.dispatch({ type: "synced" });
    });
    this.provider.on("connection-close", (event: CloseEvent | null) => this.onClose(event));

    const onUpdate = (_update: Uint8Array, origin: unknown): void => {
      if (origin !== this.provider) this.dispatch({ type: "local-change" });
    };
    this.ydoc.on("update", onUpdate);
    this.cleanups.push(() => this.ydoc.off("update", onUpdate));

    const onAwareness = (): void => handlers.onAwareness();
    this.provider.awareness.on("change", onAwareness);
    this.cleanups.push(() => this.provider.awareness.off("change", onAwareness));

    // The browser knows before TCP does: drop the socket at once when the network goes, and
    // reconnect as soon as it is back (edits made meanwhile sync in the handshake).
    const offline = (): void => {
      this.dispatch({ type: "network", online: false });
      if (!this.stopped) this.dropSocket();
    };
    const online = (): void => {
      this.dispatch({ type: "network", online: true });
      if (this.stopped) return;
      if (this.model.unsent > 0) handlers.onBackOnline();
      else this.provider.connect();
    };
    window.addEventListener("offline", offline);
    window.addEventListener("online", online);
    this.cleanups.push(() => {
      window.removeEventListener("offline", offline);
      window.removeEventListener("online", online);
    });
    if (typeof navigator !== "undefined" && navigator.onLine === false) {
      this.dispatch({ type: "network", online: false });
    }
  }

  /**
   * Publish my awareness state under a new clock. The server and the others keep the clock of
   * my last state after my socket closed, and ignore a state that does not advance it: without
   * this, I would be missing from their presence lists until my next periodic renewal.
   */
  private announceAgain(): void {
    const awareness = this.provider.awareness;
    const state = awareness.getLocalState();
    if (state !== null) awareness.setLocalState(state);
  }

  /**
   * After a disconnect y-websocket drops the others' states but keeps their clocks, so the
   * states the server sends on reconnect (same clocks) would be ignored and the others missing
   * here until they renew theirs. Forget the clocks with the states.
   */
  private forgetOthers(): void {
    const awareness = this.provider.awareness;
    for (const clientId of [...awareness.meta.keys()]) {
      if (clientId !== this.ydoc.clientID && !awareness.states.has(clientId)) awareness.meta.delete(clientId);
    }
  }

  connect(): void {
    if (!this.stopped && this.model.online) this.provider.connect();
  }

  get awareness() {
    return this.provider.awareness;
  }

  /** After a 4409, once the page has re-read its access and kept this Y.Doc. */
  resume(): void {
    if (this.stopped) return;
    this.provider.connect();
  }

  /** Stop for good (the page shows why). */
  stop(): void {
    this.stopped = true;
    this.provider.shouldConnect = false;
    this.provider.disconnect();
    this.dispatch({ type: "stopped" });
  }

  /** Close the socket now without waiting for the network; the provider reconnects later. */
  private dropSocket(): void {
    const ws = this.provider.ws;
    this.provider.disconnect();
    if (ws) {
      // A socket whose network vanished may take long to report its close: report it now.
      ws.onclose?.(new CloseEvent("close", { code: 1006, reason: "offline" }));
      ws.onclose = null;
      ws.onmessage = null;
      ws.onerror = null;
    }
  }

  private onClose(event: CloseEvent | null): void {
    const denied = this.deniedReason;
    this.deniedReason = null;
    if (this.stopped) return;
    const action = classifyClose(event?.code ?? 0, event?.reason ?? "", denied);
    if (action.kind === "stop") {
      // Set before y-websocket schedules its reconnect (it runs right after this event).
      this.stopped = true;
      this.provider.shouldConnect = false;
      this.dispatch({ type: "stopped" });
      this.handlers.onStop(action);
    } else if (action.kind === "access-changed") {
      this.provider.shouldConnect = false;
      this.handlers.onAccessChanged();
    }
  }

  private dispatch(event: ConnectionEvent): void {
    const next = reduce(this.model, event);
    if (next !== this.model) {
      this.model = next;
      this.handlers.onModel(next);
    }
  }

  destroy(): void {
    this.stopped = true;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.provider.shouldConnect = false;
    this.provider.destroy();
    this.ydoc.destroy();
  }
}
