import "./style.css";
import { ApiError, getMe, logout, setUnauthorizedHandler, type User } from "./api";
import { button, errorText, h } from "./dom";
import { initials, userColor } from "./labels";
import { renderAuth } from "./views/auth";
import { renderHome } from "./views/home";
import { renderDocument } from "./views/document";
import { renderTimelinePage } from "./views/timeline-view";
import { renderProgressPage } from "./views/progress-view";
import { renderDashboard } from "./views/dashboard";
import { INVITE_NOTICE, renderInvitePage, renderResetPage, renderVerifyPage } from "./views/mail-links";
import type { AppContext } from "./context";
import { parseRoute } from "./routes";
import { live } from "./live";

const app = document.getElementById("app") as HTMLElement;
const account = document.getElementById("account") as HTMLElement;

// The skip link moves focus to the page's content. Followed as a link it would set the hash,
// which is the router's, and leave for the home page.
document.querySelector(".skip-link")?.addEventListener("click", (event) => {
  event.preventDefault();
  app.focus();
});

let currentUser: User | null = null;
let cleanups: (() => void)[] = [];
let viewToken = 0;

function teardown(): void {
  const list = cleanups;
  cleanups = [];
  for (const cleanup of list) {
    try {
      cleanup();
    } catch (error) {
      console.error(error);
    }
  }
}

function mount(view: HTMLElement, focus?: HTMLElement | null): void {
  app.replaceChildren(view);
  if (focus) focus.focus({ preventScroll: true });
}

function renderAccount(): void {
  if (!currentUser) {
    account.replaceChildren();
    return;
  }
  const user = currentUser;
  const signOut = button("Sign out", { class: "btn btn-ghost", id: "sign-out" }, async () => {
    signOut.disabled = true;
    try {
      await logout();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) {
        signOut.disabled = false;
        return;
      }
    }
    currentUser = null;
    history.replaceState(null, "", location.pathname + location.search);
    void route({ notice: "You are signed out." });
  });
  account.replaceChildren(
    h(
      "span",
      { class: "me" },
      h("span", { class: "avatar", style: `--c:${userColor(user.id)}`, "aria-hidden": "true" }, initials(user.name)),
      h("span", { class: "me-name" }, h("span", { class: "visually-hidden" }, "Signed in as "), user.name),
    ),
    signOut,
  );
}

async function route(options: { notice?: string } = {}): Promise<void> {
  const token = ++viewToken;
  teardown();
  renderAccount();
  document.title = "Widen";
  const r = parseRoute(location.hash);
  // A mailed link for an account works signed in or not.
  if (r.name === "verify") {
    await renderVerifyPage(mount, r.token, currentUser);
    return;
  }
  if (r.name === "reset") {
    renderResetPage(mount, r.token, () => {
      currentUser = null;
      history.replaceState(null, "", location.pathname + location.search);
      void route({ notice: "Your password is changed, and you are signed out everywhere: sign in with the new one." });
    });
    return;
  }
  if (!currentUser) {
    // One live channel per signed-in user: none while signed out.
    live.stop();
    renderAuth({
      notice: options.notice ?? (r.name === "invite" ? INVITE_NOTICE : ""),
      mount,
      signedIn: (user) => {
        currentUser = user;
        void route();
      },
    });
    return;
  }
  const ctx: AppContext = {
    user: currentUser,
    alive: () => token === viewToken,
    onLeave: (cleanup) => {
      if (token === viewToken) cleanups.push(cleanup);
      else cleanup();
    },
    mount: (view, focus) => {
      if (token === viewToken) mount(view, focus);
    },
    signedOut: (notice) => {
      currentUser = null;
      void route({ notice: notice ?? "Your session ended — sign in again." });
    },
  };
  switch (r.name) {
    case "home":
      await renderHome(ctx);
      break;
    case "document":
      await renderDocument(ctx, r.id);
      break;
    case "timeline":
      await renderTimelinePage(ctx, r.id);
      break;
    case "progress":
      await renderProgressPage(ctx, r.id);
      break;
    case "dashboard":
      await renderDashboard(ctx);
      break;
    case "invite":
      await renderInvitePage(ctx, r.id, r.token);
      break;
  }
}

setUnauthorizedHandler(() => {
  if (currentUser) {
    currentUser = null;
    void route({ notice: "Your session ended — sign in again." });
  }
});

async function start(): Promise<void> {
  app.replaceChildren(h("p", { class: "muted page-loading", role: "status" }, "Loading…"));
  try {
    currentUser = await getMe();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) {
      const retry = button("Try again", { class: "btn" }, () => void start());
      app.replaceChildren(
        h("div", { class: "page narrow" }, h("p", { class: "alert alert-error", role: "alert" }, `Could not reach Widen: ${errorText(error)}`), retry),
      );
      return;
    }
    currentUser = null;
  }
  await route();
}

window.addEventListener("hashchange", () => void route());
void start();
