/**
 * The collaboration socket's life as the page tells it: what a close code means, and the
 * connection badge (connected, reconnecting, offline with unsent edits, stopped).
 * Pure functions, unit-tested; `session.ts` feeds them the provider's events.
 */

export type CloseAction =
  /** Stop reconnecting for good and say why. */
  | { kind: "stop"; reason: StopReason; message: string }
  /** 4409: my access changed; re-read it, then reconnect (maybe from a fresh Y.Doc). */
  | { kind: "access-changed" }
  /** Anything else: the provider retries with back-off. */
  | { kind: "retry" };

export type StopReason = "revoked" | "refused-write" | "progress-only" | "not-found" | "signed-out" | "origin" | "too-big";

export const CLOSE = {
  MESSAGE_TOO_BIG: 1009,
  UNAUTHORIZED: 4401,
  FORBIDDEN: 4403,
  NOT_FOUND: 4404,
  ACCESS_CHANGED: 4409,
} as const;

export const MESSAGES: Record<StopReason, string> = {
  revoked:
    "Your access to this document was revoked. You can no longer edit it, and nothing you type here is sent to anyone.",
  "refused-write":
    "The server refused one of your changes, so editing has stopped here. Reload the page to continue with the access you have now.",
  "progress-only": "You follow this document's progress; its text is not shared with you.",
  "not-found": "This document does not exist or you have no access to it.",
  "signed-out": "You are signed out. Sign in again to continue.",
  origin: "This server does not accept live connections from this address.",
  "too-big":
    "Your last change is too big to send, so it was not saved and editing has stopped here. Copy what you need, then reload the page to continue without it.",
};

/**
 * A close or denial reason split as DESIGN §5 writes it: a stable word a client switches on,
 * then optionally `: ` and text for people ("revoked: your access was revoked"). The page
 * decides on the word alone, never on the text, which may change.
 */
export function splitReason(reason: string): { word: string; text: string } {
  const at = reason.indexOf(":");
  if (at < 0) return { word: reason.trim().toLowerCase(), text: "" };
  return { word: reason.slice(0, at).trim().toLowerCase(), text: reason.slice(at + 1).trim() };
}

/**
 * What to do after the socket closed. `deniedReason` is the reason of a y-websocket auth
 * message ([2, 0, reason]) received just before, if any; the close reason is used otherwise.
 */
export function classifyClose(code: number, closeReason = "", deniedReason: string | null = null): CloseAction {
  const { word, text } = splitReason(deniedReason ?? closeReason ?? "");
  switch (code) {
    case CLOSE.UNAUTHORIZED:
      return stop("signed-out");
    case CLOSE.NOT_FOUND:
      return stop("not-found");
    case CLOSE.ACCESS_CHANGED:
      return { kind: "access-changed" };
    case CLOSE.MESSAGE_TOO_BIG:
      // Reconnecting would send the same change again and be closed again: stop and say so.
      return stop("too-big", text);
    case CLOSE.FORBIDDEN:
      if (word === "revoked") return stop("revoked");
      if (word === "progress-only") return stop("progress-only");
      if (word === "origin") return stop("origin");
      return stop("refused-write", text || word);
    default:
      // An auth message without a 44xx close still means the server refused us.
      if (deniedReason !== null) return word === "revoked" ? stop("revoked") : stop("refused-write", text || word);
      return { kind: "retry" };
  }
}

function stop(reason: StopReason, detail?: string): CloseAction {
  let message = MESSAGES[reason];
  if (reason === "refused-write" && detail) {
    message = `The server refused one of your changes (${detail}), so editing has stopped here. Reload the page to continue with the access you have now.`;
  }
  if (reason === "too-big" && detail) {
    message = `Your last change is too big to send (${detail}), so it was not saved and editing has stopped here. Copy what you need, then reload the page to continue without it.`;
  }
  return { kind: "stop", reason, message };
}

// ------------------------------------------------------------------ the connection badge

export type Phase =
  | "connecting" // first connection, not synced yet
  | "connected" // synced with the server
  | "reconnecting" // lost the connection, trying again
  | "offline" // the browser says there is no network
  | "stopped"; // will not reconnect (see the page's message)

export interface ConnectionModel {
  phase: Phase;
  /** Local edits made since the last sync that may not have reached the server yet. */
  unsent: number;
  /** Set once the first sync completed. */
  everSynced: boolean;
  online: boolean;
}

export type ConnectionEvent =
  | { type: "status"; status: "connecting" | "connected" | "disconnected" }
  | { type: "synced" }
  | { type: "local-change" }
  | { type: "network"; online: boolean }
  | { type: "stopped" }
  | { type: "reset" };

export const INITIAL: ConnectionModel = { phase: "connecting", unsent: 0, everSynced: false, online: true };

export function reduce(model: ConnectionModel, event: ConnectionEvent): ConnectionModel {
  if (model.phase === "stopped" && event.type !== "reset") {
    return event.type === "local-change" ? model : { ...model, online: event.type === "network" ? event.online : model.online };
  }
  switch (event.type) {
    case "reset":
      return { ...INITIAL, online: model.online };
    case "stopped":
      return { ...model, phase: "stopped" };
    case "network":
      if (!event.online) return { ...model, online: false, phase: "offline" };
      return { ...model, online: true, phase: model.phase === "offline" ? "reconnecting" : model.phase };
    case "status":
      if (event.status === "disconnected" || event.status === "connecting") {
        if (!model.online) return { ...model, phase: "offline" };
        if (event.status === "connecting" && !model.everSynced) return { ...model, phase: "connecting" };
        return { ...model, phase: model.everSynced ? "reconnecting" : "connecting" };
      }
      // "connected": the socket is open; we are in step with the server once synced.
      return model;
    case "synced":
      // The sync handshake sends the server what it lacks, including every edit made offline.
      return { ...model, phase: "connected", unsent: 0, everSynced: true };
    case "local-change":
      return model.phase === "connected" ? model : { ...model, unsent: model.unsent + 1 };
  }
}

export interface Badge {
  label: string;
  tone: "ok" | "busy" | "warn" | "error";
  detail: string;
}

export function describe(model: ConnectionModel): Badge {
  // Counting keystrokes means little to people: say whether something is waiting to go out.
  const unsent = model.unsent > 0 ? "unsent edits" : "";
  switch (model.phase) {
    case "connecting":
      return { label: "Connecting…", tone: "busy", detail: "Opening the live document." };
    case "connected":
      return { label: "Connected", tone: "ok", detail: "Your edits are shared as you type." };
    case "reconnecting":
      return {
        label: unsent ? `Reconnecting… · ${unsent}` : "Reconnecting…",
        tone: "warn",
        detail: unsent
          ? "Your edits are kept on this device and will be sent when the connection is back."
          : "The connection was lost; trying again.",
      };
    case "offline":
      return {
        label: unsent ? `Offline · ${unsent}` : "Offline",
        tone: "warn",
        detail: "You are offline. Keep writing: your edits are kept here and sync when you are back online.",
      };
    case "stopped":
      return { label: "Disconnected", tone: "error", detail: "Live editing has stopped." };
  }
}
