import { ApiError, getMe, login, register, requestPasswordReset, type User } from "../api";
import { button, errorText, h, setMessage } from "../dom";
import { icon } from "../icons";
import { waitText } from "../labels";

interface AuthOptions {
  notice: string;
  mount(view: HTMLElement, focus?: HTMLElement | null): void;
  signedIn(user: User): void;
}

function field(id: string, label: string, attrs: Record<string, string | number | boolean>, hint?: string) {
  const hintId = hint ? `${id}-hint` : undefined;
  const input = h("input", { id, name: id, class: "input", "aria-describedby": hintId, ...attrs });
  const wrapper = h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("small", { id: hintId, class: "hint" }, hint) : null,
  );
  return { wrapper, input };
}

export function renderAuth(options: AuthOptions): void {
  const notice = h("p", { class: "alert alert-info", role: "status" }, options.notice);
  notice.hidden = options.notice === "";

  // --- sign in
  const signinEmail = field("signin-email", "Email", { type: "email", required: true, autocomplete: "username" });
  const signinPassword = field("signin-password", "Password", { type: "password", required: true, autocomplete: "current-password" });
  const signinError = h("p", { class: "alert alert-error", role: "alert", id: "signin-error" });
  signinError.hidden = true;
  const signinButton = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Sign in");
  const signinForm = h(
    "form",
    { id: "signin-form", class: "auth-form", "aria-labelledby": "signin-heading" },
    h("h2", { id: "signin-heading" }, "Sign in"),
    signinEmail.wrapper,
    signinPassword.wrapper,
    signinError,
    signinButton,
  );
  // After too many failed attempts the server says how long to wait (429, Retry-After): the
  // page says so in words, and the button counts down until trying again can work.
  const waitBeforeRetrying = (seconds: number): void => {
    const until = Date.now() + seconds * 1000;
    setMessage(signinError, `Too many failed sign-in attempts. Try again in ${waitText(seconds)}.`);
    signinButton.disabled = true;
    const tick = (): void => {
      const left = (until - Date.now()) / 1000;
      if (left <= 0 || !signinForm.isConnected) {
        window.clearInterval(timer);
        signinButton.textContent = "Sign in";
        signinButton.disabled = false;
        return;
      }
      signinButton.textContent = `Try again in ${waitText(left)}`;
    };
    const timer = window.setInterval(tick, 1000);
    tick();
  };
  signinForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    setMessage(signinError, "");
    signinButton.disabled = true;
    try {
      await login(signinEmail.input.value.trim(), signinPassword.input.value);
      // The whole /api/me: what the pages need beyond who I am (proof of address, trash period).
      options.signedIn(await getMe());
    } catch (error) {
      if (error instanceof ApiError && error.status === 429 && error.retryAfter !== null) {
        waitBeforeRetrying(error.retryAfter);
        return;
      }
      setMessage(signinError, errorText(error));
      signinButton.disabled = false;
      signinPassword.input.focus();
    }
  });

  // --- forgotten password: a link by mail (a server without mail says so)
  const resetEmail = field("reset-email", "Email", { type: "email", required: true, autocomplete: "username" });
  const resetResult = h("p", { class: "alert alert-info", role: "status", id: "reset-result" });
  resetResult.hidden = true;
  const resetButton = h("button", { type: "submit", class: "btn btn-block" }, "Mail me a link");
  const resetForm = h("form", { id: "reset-request-form", class: "auth-form" }, resetEmail.wrapper, resetResult, resetButton);
  resetForm.hidden = true;
  const forgot = button("Forgot your password?", { class: "btn btn-link", "aria-expanded": "false", "aria-controls": "reset-request-form" }, () => {
    resetForm.hidden = !resetForm.hidden;
    forgot.setAttribute("aria-expanded", String(!resetForm.hidden));
    if (!resetForm.hidden) {
      resetEmail.input.value = signinEmail.input.value;
      resetEmail.input.focus();
    }
  });
  resetForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    resetButton.disabled = true;
    try {
      setMessage(resetResult, (await requestPasswordReset(resetEmail.input.value.trim())).detail);
    } catch (error) {
      setMessage(resetResult, errorText(error));
    } finally {
      resetButton.disabled = false;
    }
  });

  // --- sign up
  const signupName = field("signup-name", "Name", { type: "text", required: true, autocomplete: "name", maxlength: 200 });
  const signupEmail = field("signup-email", "Email", { type: "email", required: true, autocomplete: "email" });
  const signupPassword = field(
    "signup-password",
    "Password",
    { type: "password", required: true, minlength: 8, autocomplete: "new-password" },
    "At least 8 characters.",
  );
  const signupError = h("p", { class: "alert alert-error", role: "alert", id: "signup-error" });
  signupError.hidden = true;
  const signupButton = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Create account");
  const signupForm = h(
    "form",
    { id: "signup-form", class: "auth-form", "aria-labelledby": "signup-heading" },
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
      await login(email, password);
      options.signedIn(await getMe());
    } catch (error) {
      setMessage(signupError, errorText(error));
      signupButton.disabled = false;
    }
  });

  const point = (name: string, title: string, text: string): HTMLElement =>
    h("li", {}, h("span", { class: "point-icon" }, icon(name, 20)), h("div", {}, h("strong", {}, title), h("p", {}, text)));

  const heading = h("h1", { tabindex: -1 }, "Write alone. Widen when you need to.");
  const view = h(
    "div",
    { class: "auth-page" },
    h(
      "section",
      { class: "auth-intro", "aria-labelledby": "auth-intro-heading" },
      h("p", { class: "eyebrow", id: "auth-intro-heading" }, "Widen — collaborative documents"),
      heading,
      h("p", { class: "lead" }, "Every document starts private. Invite exactly the person a part needs — a specialist for one section, a proof-reader, a manager who only follows progress — and see how it became social."),
      h(
        "ul",
        { class: "points" },
        point("lock", "Private by default", "Nobody else can tell a draft exists until you invite them."),
        point("users", "Social by need", "Each invitation has a role, a scope and a reason."),
        point("clock", "A clear trail", "The sharing log shows who joined, when and why."),
      ),
    ),
    h(
      "div",
      { class: "auth-cards" },
      notice,
      h("div", { class: "card" }, signinForm, forgot, resetForm),
      h("div", { class: "card" }, signupForm),
    ),
  );
  options.mount(view, null);
}
