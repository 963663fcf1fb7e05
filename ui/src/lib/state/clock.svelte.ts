/**
 * "Now", ticking once a minute, so "3 minutes ago" stays true while the window is open
 * without every row running its own timer.
 */
export class Clock {
  now = $state(Date.now());
  #timer: ReturnType<typeof setInterval> | null = null;

  start(intervalMs = 60_000): void {
    this.stop();
    this.now = Date.now();
    this.#timer = setInterval(() => this.tick(), intervalMs);
  }

  /** Catches up at once, e.g. when a fresh list may hold images made seconds ago. */
  tick(): void {
    this.now = Date.now();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
