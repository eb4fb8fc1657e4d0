/**
 * Calls to the Widen HTTP API. Every request is same-origin, sends the session cookie and
 * JSON bodies; errors become ApiError with a readable message taken from {"detail": ...}.
 */

export interface User {
  id: string | number;
  email: string;
  name: string;
}

export interface DocumentSummary {
  id: string | number;
  title: string;
  role?: string;
  [key: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

interface ValidationItem {
  msg?: unknown;
  loc?: unknown;
}

/** Turns a FastAPI-style `detail` (a string, or a list of {loc, msg} for 422) into text. */
export function formatDetail(detail: unknown): string {
  if (typeof detail === "string") {
    return detail;
  }
  if (Array.isArray(detail)) {
    const lines = detail.map((item: unknown) => {
      if (item && typeof item === "object") {
        const { msg, loc } = item as ValidationItem;
        const field = Array.isArray(loc)
          ? loc.filter((part) => part !== "body" && part !== "query").join(".")
          : "";
        const text = typeof msg === "string" ? msg : JSON.stringify(item);
        return field ? `${field}: ${text}` : text;
      }
      return String(item);
    });
    return lines.join("\n");
  }
  if (detail === undefined || detail === null) {
    return "";
  }
  return JSON.stringify(detail);
}

function fallbackMessage(status: number, statusText: string): string {
  if (status === 401) return "You are not signed in.";
  if (status === 403) return "You do not have access to this.";
  if (status === 404) return "Not found.";
  if (status >= 500) return `The server had a problem (${status}). Please try again.`;
  return `Request failed (${status}${statusText ? ` ${statusText}` : ""}).`;
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  };
  if (body !== undefined) {
    init.headers = { ...init.headers, "Content-Type": "application/json" };
    init.body = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "Cannot reach the server. Check your connection and try again.");
  }
  const text = await response.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!response.ok) {
    const detail =
      data && typeof data === "object" && "detail" in data
        ? formatDetail((data as { detail: unknown }).detail)
        : "";
    throw new ApiError(response.status, detail || fallbackMessage(response.status, response.statusText));
  }
  return data as T;
}

export const getMe = (): Promise<User> => api<User>("GET", "/api/me");

export const register = (name: string, email: string, password: string): Promise<User> =>
  api<User>("POST", "/api/auth/register", { name, email, password });

export const login = (email: string, password: string): Promise<{ token?: string; user: User }> =>
  api("POST", "/api/auth/login", { email, password });

export const logout = (): Promise<void> => api<void>("POST", "/api/auth/logout");

export const listDocuments = (): Promise<DocumentSummary[]> =>
  api<DocumentSummary[]>("GET", "/api/documents");

export const createDocument = (title: string): Promise<DocumentSummary> =>
  api<DocumentSummary>("POST", "/api/documents", { title });

export const getDocument = (id: string): Promise<DocumentSummary> =>
  api<DocumentSummary>("GET", `/api/documents/${encodeURIComponent(id)}`);
