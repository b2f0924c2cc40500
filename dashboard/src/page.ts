import { ApiError, Session } from './api';

/** What every page gets from the shell. */
export interface PageContext {
  session: Session;
  /** Shows an error (an API's message) in the page's alert region, or clears it with null. */
  error(e: unknown): void;
  /** Shows a short status note ("Server web deleted"). */
  note(text: string): void;
  /** Calls fn every interval while the page is shown; stops when the page goes. */
  every(ms: number, fn: () => Promise<void>): void;
  /** Runs when the page goes (closes sockets, timers). */
  onLeave(fn: () => void): void;
}

export type Page = (ctx: PageContext, root: HTMLElement, arg?: string) => Promise<void> | void;

/** The words for an error: the API's message, with which status it came. */
export function describe(e: unknown): string {
  if (e instanceof ApiError) {
    return e.status ? `${e.message} (HTTP ${e.status})` : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
