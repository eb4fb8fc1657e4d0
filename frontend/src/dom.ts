/** A tiny element builder: text is always set as text, never parsed as HTML. */

type Attrs = Record<string, string | number | boolean | null | undefined>;
export type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

/** Shows a message in an alert region (empty message hides it). */
export function setMessage(el: HTMLElement, message: string): void {
  el.textContent = message;
  el.hidden = message === "";
}

export function button(
  label: Child | Child[],
  attrs: Attrs,
  onClick: (event: MouseEvent) => void,
): HTMLButtonElement {
  const el = h("button", { type: "button", ...attrs }, ...(Array.isArray(label) ? label : [label]));
  el.addEventListener("click", onClick);
  return el;
}

let idCounter = 0;
export function uid(prefix = "id"): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

export function errorText(error: unknown): string {
  if (error instanceof Error && error.message) return error.message;
  return "Something went wrong. Please try again.";
}

/** A polite announcement for screen readers (and a visible toast). */
export function toast(message: string, tone: "ok" | "error" = "ok"): void {
  const region = document.getElementById("toasts");
  if (!region) return;
  const item = h("div", { class: `toast toast-${tone}` }, message);
  region.append(item);
  setTimeout(() => item.remove(), 5000);
}
