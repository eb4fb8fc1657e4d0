import "./style.css";
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import {
  ApiError,
  createDocument,
  getDocument,
  getMe,
  listDocuments,
  login,
  logout,
  register,
  type DocumentSummary,
  type User,
} from "./api";
import { bindTextarea } from "./binding";
import { h, setMessage } from "./dom";

const app = document.getElementById("app") as HTMLElement;
const account = document.getElementById("account") as HTMLElement;
const flash = document.getElementById("flash") as HTMLElement;

let currentUser: User | null = null;
/** Tears down the current view (websocket, Y.Doc, listeners); set by views that need it. */
let cleanupView: (() => void) | null = null;
/** Increases on every navigation so that late async results of an old view are dropped. */
let viewToken = 0;
/** Titles seen in the document list, so an opened document shows its title at once. */
const titles = new Map<string, string>();

const SESSION_EXPIRED = "Your session expired — sign in again.";

/** Close codes the server uses to refuse a collaboration socket; no reconnect after these. */
const CLOSE_MESSAGES: Record<number, string> = {
  4401: SESSION_EXPIRED,
  4403: "You have no access to this document.",
  4404: "This document does not exist or you have no access.",
};

const STATUS_TEXT = {
  connecting: "Connecting…",
  connected: "Connected",
  disconnected: "Disconnected — trying to reconnect…",
} as const;
type ConnectionStatus = keyof typeof STATUS_TEXT;

function errorText(error: unknown): string {
  if (error instanceof Error && error.message) return error.message;
  return "Something went wrong. Please try again.";
}

function alertBox(id?: string): HTMLParagraphElement {
  const el = h("p", { class: "error", role: "alert", id });
  el.hidden = true;
  return el;
}

function documentHash(id: string): string {
  return `#/d/${encodeURIComponent(id)}`;
}

function documentIdFromHash(): string | null {
  const match = /^#\/d\/([^/?#]+)\/?$/.exec(location.hash);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

function mount(view: HTMLElement, focus?: HTMLElement): void {
  app.replaceChildren(view);
  focus?.focus();
}

function teardown(): void {
  const cleanup = cleanupView;
  cleanupView = null;
  cleanup?.();
}

async function route(options: { focus?: boolean; notice?: string } = {}): Promise<void> {
  const token = ++viewToken;
  teardown();
  renderAccount();
  if (!currentUser) {
    renderAuth(options.notice ?? "");
    return;
  }
  setMessage(flash, "");
  const id = documentIdFromHash();
  if (id !== null) {
    renderDocument(id, token, options.focus ?? true);
  } else {
    await renderHome(token, options.focus ?? true);
  }
}

/** Called when the API answers 401 while we thought we were signed in. */
function sessionExpired(): void {
  currentUser = null;
  void route({ notice: SESSION_EXPIRED });
}

function renderAccount(): void {
  if (!currentUser) {
    account.replaceChildren();
    return;
  }
  const button = h("button", { type: "button", class: "secondary", id: "sign-out" }, "Sign out");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await logout();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) {
        setMessage(flash, `Could not sign out: ${errorText(error)}`);
        button.disabled = false;
        return;
      }
    }
    currentUser = null;
    history.replaceState(null, "", location.pathname + location.search);
    await route({ notice: "You are signed out." });
  });
  account.replaceChildren(
    h("span", { class: "muted" }, "Signed in as ", h("strong", {}, currentUser.name || currentUser.email)),
    button,
  );
}

// ---------------------------------------------------------------- sign in / sign up

function field(
  id: string,
  label: string,
  attrs: Record<string, string | number | boolean>,
  hint?: string,
): { wrapper: HTMLElement; input: HTMLInputElement } {
  const hintId = hint ? `${id}-hint` : undefined;
  const input = h("input", { id, name: id, "aria-describedby": hintId, ...attrs });
  const wrapper = h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("small", { id: hintId, class: "muted" }, hint) : null,
  );
  return { wrapper, input };
}

async function afterSignIn(user: User | undefined): Promise<void> {
  currentUser = user ?? (await getMe());
  await route();
}

function renderAuth(notice: string): void {
  const noticeBox = h("p", { class: "notice", role: "status" }, notice);
  noticeBox.hidden = notice === "";

  // Sign in
  const signinEmail = field("signin-email", "Email", {
    type: "email",
    required: true,
    autocomplete: "username",
  });
  const signinPassword = field("signin-password", "Password", {
    type: "password",
    required: true,
    autocomplete: "current-password",
  });
  const signinError = alertBox("signin-error");
  const signinButton = h("button", { type: "submit" }, "Sign in");
  const signinForm = h(
    "form",
    { id: "signin-form", "aria-labelledby": "signin-heading", class: "card" },
    h("h2", { id: "signin-heading" }, "Sign in"),
    signinEmail.wrapper,
    signinPassword.wrapper,
    signinError,
    signinButton,
  );
  signinForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    setMessage(signinError, "");
    signinButton.disabled = true;
    try {
      const result = await login(signinEmail.input.value.trim(), signinPassword.input.value);
      await afterSignIn(result?.user);
    } catch (error) {
      setMessage(signinError, errorText(error));
      signinButton.disabled = false;
      signinPassword.input.focus();
    }
  });

  // Sign up
  const signupName = field("signup-name", "Name", {
    type: "text",
    required: true,
    autocomplete: "name",
    maxlength: 200,
  });
  const signupEmail = field("signup-email", "Email", {
    type: "email",
    required: true,
    autocomplete: "email",
  });
  const signupPassword = field(
    "signup-password",
    "Password",
    { type: "password", required: true, minlength: 8, autocomplete: "new-password" },
    "At least 8 characters.",
  );
  const signupError = alertBox("signup-error");
  const signupButton = h("button", { type: "submit" }, "Create account");
  const signupForm = h(
    "form",
    { id: "signup-form", "aria-labelledby": "signup-heading", class: "card" },
    h("h2", { id: "signup-heading" }, "Create an account"),
    signupName.wrapper,
    signupEmail.wrapper,
    signupPassword.wrapper,
    signupError,
    signupButton,
  );
  signupForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    setMessage(signupError, "");
    const name = signupName.input.value.trim();
    const email = signupEmail.input.value.trim();
    const password = signupPassword.input.value;
    if (password.length < 8) {
      setMessage(signupError, "The password must have at least 8 characters.");
      signupPassword.input.focus();
      return;
    }
    signupButton.disabled = true;
    try {
      await register(name, email, password);
      const result = await login(email, password);
      await afterSignIn(result?.user);
    } catch (error) {
      setMessage(signupError, errorText(error));
      signupButton.disabled = false;
    }
  });

  const heading = h("h1", { tabindex: -1 }, "Welcome to Widen");
  mount(
    h(
      "section",
      { class: "auth" },
      heading,
      noticeBox,
      h("div", { class: "auth-forms" }, signinForm, signupForm),
    ),
  );
}

// ---------------------------------------------------------------- document list

async function renderHome(token: number, focus: boolean): Promise<void> {
  const heading = h("h1", { tabindex: -1 }, "My documents");
  const listStatus = h("p", { class: "muted", role: "status" }, "Loading…");
  const listError = alertBox("list-error");
  const list = h("ul", { class: "doc-list", id: "doc-list", "aria-labelledby": "list-heading" });

  const titleInput = h("input", {
    id: "new-doc-title",
    name: "title",
    type: "text",
    required: true,
    maxlength: 200,
    autocomplete: "off",
  });
  const createError = alertBox("create-error");
  const createButton = h("button", { type: "submit" }, "Create");
  const createForm = h(
    "form",
    { id: "new-doc-form", class: "card", "aria-labelledby": "new-doc-heading" },
    h("h2", { id: "new-doc-heading" }, "New document"),
    h("label", { for: "new-doc-title" }, "Title"),
    h("div", { class: "row" }, titleInput, createButton),
    createError,
  );
  createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    setMessage(createError, "");
    const title = titleInput.value.trim();
    if (!title) {
      setMessage(createError, "Give the document a title.");
      titleInput.focus();
      return;
    }
    createButton.disabled = true;
    try {
      const created = await createDocument(title);
      titles.set(String(created.id), created.title ?? title);
      location.hash = documentHash(String(created.id));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return sessionExpired();
      setMessage(createError, errorText(error));
      createButton.disabled = false;
    }
  });

  mount(
    h(
      "section",
      { class: "home" },
      heading,
      createForm,
      h("h2", { id: "list-heading" }, "Documents"),
      listStatus,
      listError,
      list,
    ),
    focus ? heading : undefined,
  );

  let documents: DocumentSummary[];
  try {
    documents = await listDocuments();
  } catch (error) {
    if (token !== viewToken) return;
    if (error instanceof ApiError && error.status === 401) return sessionExpired();
    listStatus.hidden = true;
    setMessage(listError, `Could not load your documents: ${errorText(error)}`);
    return;
  }
  if (token !== viewToken) return;
  if (!Array.isArray(documents) || documents.length === 0) {
    listStatus.textContent = "No documents yet. Create one above.";
    return;
  }
  listStatus.hidden = true;
  for (const doc of documents) {
    const id = String(doc.id);
    const title = doc.title || "Untitled document";
    titles.set(id, title);
    list.append(
      h(
        "li",
        {},
        h("a", { href: documentHash(id), class: "doc-link" }, title),
        doc.role ? h("span", { class: "badge" }, doc.role) : null,
      ),
    );
  }
}

// ---------------------------------------------------------------- document view

function renderDocument(id: string, token: number, focus: boolean): void {
  const heading = h("h1", { tabindex: -1, id: "doc-title" }, titles.get(id) ?? "Document");
  const statusText = h("span", { class: "status-text" }, STATUS_TEXT.connecting);
  const statusBox = h(
    "p",
    { id: "connection-status", class: "status", role: "status", "data-status": "connecting" },
    h("span", { class: "dot", "aria-hidden": "true" }),
    statusText,
  );
  const problem = alertBox("doc-problem");
  const problemActions = h("div", { class: "row" });
  problemActions.hidden = true;
  const textarea = h("textarea", {
    id: "editor",
    rows: 20,
    spellcheck: "true",
    readonly: true,
    "aria-describedby": "connection-status",
  });

  mount(
    h(
      "section",
      { class: "doc-view", "aria-labelledby": "doc-title" },
      h("p", {}, h("a", { href: "#/", id: "back-to-list" }, "← My documents")),
      heading,
      statusBox,
      problem,
      problemActions,
      h("label", { for: "editor", class: "visually-hidden" }, "Document text"),
      textarea,
    ),
    focus ? heading : undefined,
  );

  const setStatus = (status: ConnectionStatus, text: string = STATUS_TEXT[status]): void => {
    statusBox.dataset.status = status;
    statusText.textContent = text;
  };

  const ydoc = new Y.Doc();
  const ytext = ydoc.getText("body");
  const unbind = bindTextarea(textarea, ytext);
  const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  const provider = new WebsocketProvider(wsUrl, id, ydoc, { disableBc: true });

  let halted = false;
  let failedAttempts = 0;
  let checkingSession = false;

  /** Stops reconnecting for good and explains why. */
  const halt = (message: string, offerSignIn: boolean): void => {
    if (halted) return;
    halted = true;
    provider.shouldConnect = false;
    provider.disconnect();
    textarea.readOnly = true;
    // Nothing to show for a document we may not open; keep the text visible otherwise.
    textarea.hidden = !offerSignIn && textarea.value === "";
    setStatus("disconnected", "Disconnected");
    setMessage(problem, message);
    if (offerSignIn) {
      const again = h("button", { type: "button" }, "Sign in again");
      again.addEventListener("click", () => {
        currentUser = null;
        void route();
      });
      problemActions.replaceChildren(again);
      problemActions.hidden = false;
    }
  };

  provider.on("status", ({ status }: { status: ConnectionStatus }) => {
    if (halted) return;
    setStatus(status);
  });

  provider.on("sync", (synced: boolean) => {
    if (synced && !halted) {
      textarea.readOnly = false;
      textarea.dataset.synced = "true";
    }
  });

  provider.on("connection-close", (event: CloseEvent | null) => {
    if (halted) return;
    const code = event?.code ?? 0;
    const message = CLOSE_MESSAGES[code];
    if (message) {
      halt(message, code === 4401);
      return;
    }
    if (provider.wsconnected) {
      failedAttempts = 0;
      return;
    }
    // The socket never opened. A server refusing the handshake looks the same as a network
    // problem here, so every few failures ask the API whether the session is still valid.
    failedAttempts++;
    if (failedAttempts % 3 === 0 && !checkingSession) {
      checkingSession = true;
      getMe()
        .catch((error: unknown) => {
          if (error instanceof ApiError && error.status === 401 && token === viewToken) {
            halt(SESSION_EXPIRED, true);
          }
        })
        .finally(() => {
          checkingSession = false;
        });
    }
  });

  cleanupView = () => {
    halted = true;
    unbind();
    provider.destroy();
    ydoc.destroy();
  };

  // The title: from the list if we have seen it, else ask the API (best effort).
  if (!titles.has(id)) {
    void (async () => {
      let title: string | undefined;
      try {
        title = (await listDocuments()).find((doc) => String(doc.id) === id)?.title;
        if (title === undefined) title = (await getDocument(id)).title;
      } catch {
        title = undefined;
      }
      if (token !== viewToken || !title) return;
      titles.set(id, title);
      heading.textContent = title;
      document.title = `${title} — Widen`;
    })();
  }
  document.title = `${titles.get(id) ?? "Document"} — Widen`;
}

// ---------------------------------------------------------------- start

async function start(): Promise<void> {
  app.replaceChildren(h("p", { class: "muted", role: "status" }, "Loading…"));
  try {
    currentUser = await getMe();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) {
      const retry = h("button", { type: "button" }, "Try again");
      retry.addEventListener("click", () => void start());
      const box = alertBox();
      setMessage(box, `Could not reach Widen: ${errorText(error)}`);
      app.replaceChildren(box, retry);
      return;
    }
    currentUser = null;
  }
  await route({ focus: false });
}

window.addEventListener("hashchange", () => {
  document.title = "Widen";
  void route();
});
void start();
