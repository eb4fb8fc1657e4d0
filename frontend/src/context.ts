import type { User } from "./api";

/** What the app shell gives a view. */
export interface AppContext {
  user: User;
  /** Still the current view? (async results of a view left behind are dropped) */
  alive(): boolean;
  /** Register cleanup for when the view is left. */
  onLeave(cleanup: () => void): void;
  mount(view: HTMLElement, focus?: HTMLElement | null): void;
  signedOut(notice?: string): void;
}
