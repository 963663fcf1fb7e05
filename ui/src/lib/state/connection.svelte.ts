/**
 * Whether we have a daemon, and getting one back when we don't.
 *
 *     const conn = new Connection({ onConnected: () => images.refresh() });
 *     conn.start();      // connect; on failure retry every RETRY_SECONDS until it answers
 *
 * The retry clock lives here, not in the no-daemon screen, so a lost daemon keeps being
 * looked for whichever screen is showing, and tests drive it with fake timers.
 */
import * as ipc from "../ipc";
import type { Attempt, DaemonInfo, IpcError, Settings, StartHelp } from "../ipc";

export type Phase = "connecting" | "connected" | "unavailable";

export const RETRY_SECONDS = 3;

export interface ConnectionHooks {
  /** Runs after every successful connect, including a changed address. */
  onConnected?: (info: DaemonInfo) => void;
}

export class Connection {
  phase = $state<Phase>("connecting");
  info = $state.raw<DaemonInfo | null>(null);
  /** Why the last connect failed; null once connected. */
  error = $state.raw<IpcError | null>(null);
  /** Fresh from `diagnose`, for when the failure carried no attempts of its own. */
  diagnosed = $state.raw<Attempt[] | null>(null);
  settings = $state.raw<Settings>({ dockerHost: null });
  /** How to start an engine on this system; null until known, or if asking failed. */
  startHelp = $state.raw<StartHelp | null>(null);
  /** A connect is in flight. */
  busy = $state(false);
  /** Seconds until the next automatic retry; 0 while none is scheduled. */
  retryIn = $state(0);

  attempts = $derived<Attempt[]>(this.error?.attempts ?? this.diagnosed ?? this.info?.attempts ?? []);

  #hooks: ConnectionHooks;
  #timer: ReturnType<typeof setTimeout> | null = null;
  // Each connect gets a number; an answer for an older one is ignored, so a slow
  // automatic retry cannot undo the address the user has just chosen.
  #generation = 0;
  #disposed = false;

  constructor(hooks: ConnectionHooks = {}) {
    this.#hooks = hooks;
  }

  start(): void {
    void this.loadSettings();
    void this.loadStartHelp();
    void this.connect();
  }

  dispose(): void {
    this.#disposed = true;
    this.#cancelRetry();
  }

  async loadSettings(): Promise<void> {
    try {
      this.settings = await ipc.getSettings();
    } catch {
      // Without settings the "Clear" button just stays hidden; connecting still works.
    }
  }

  async loadStartHelp(): Promise<void> {
    try {
      this.startHelp = await ipc.startHelp();
    } catch {
      // The no-daemon screen then gives its general advice instead.
    }
  }

  /** Connects now (also what "Retry now" does). Resolves true when a daemon answered. */
  async connect(): Promise<boolean> {
    return (await this.#run(() => ipc.connect())) === null;
  }

  /**
   * Saves `host` (null clears the setting) and connects through it. Resolves with the
   * error for the form to show, or null on success. A malformed address changes nothing;
   * an unreachable one was still saved, so the app goes looking for it.
   */
  async setHost(host: string | null): Promise<IpcError | null> {
    const err = await this.#run(
      () => ipc.setDockerHost(host),
      (e) => e.code !== "invalidInput",
    );
    if (err === undefined) return null; // superseded by a newer connect; nothing to say
    if (err === null || err.code !== "invalidInput") {
      this.settings = { ...this.settings, dockerHost: host };
    }
    return err;
  }

  /** The image list found the daemon gone: show the no-daemon screen and look again. */
  lost(err: IpcError): void {
    this.#generation++;
    this.busy = false;
    this.#fail(err);
  }

  /**
   * Runs one connect. Resolves null when it answered, the error when it failed, and
   * undefined when a newer connect (or a lost daemon) made this one's answer moot.
   */
  async #run(
    attempt: () => Promise<DaemonInfo>,
    // Whether a failure means "no daemon" (true) or is only the form's business.
    isOutage: (err: IpcError) => boolean = () => true,
  ): Promise<IpcError | null | undefined> {
    const generation = ++this.#generation;
    this.#cancelRetry();
    this.busy = true;
    try {
      const info = await attempt();
      if (generation !== this.#generation || this.#disposed) return undefined;
      this.busy = false;
      this.info = info;
      this.error = null;
      this.diagnosed = null;
      this.phase = "connected";
      this.#hooks.onConnected?.(info);
      return null;
    } catch (e) {
      if (generation !== this.#generation || this.#disposed) return undefined;
      this.busy = false;
      const err = ipc.toIpcError(e);
      if (isOutage(err)) this.#fail(err);
      else if (this.phase === "unavailable") this.#scheduleRetry();
      return err;
    }
  }

  #fail(err: IpcError): void {
    this.error = err;
    this.phase = "unavailable";
    if (err.attempts === null) void this.#diagnose();
    this.#scheduleRetry();
  }

  async #diagnose(): Promise<void> {
    try {
      this.diagnosed = await ipc.diagnose();
    } catch {
      // The message of the failure is still shown; only the details are missing.
    }
  }

  #scheduleRetry(): void {
    this.#cancelRetry();
    if (this.#disposed) return;
    this.retryIn = RETRY_SECONDS;
    const tick = () => {
      this.retryIn -= 1;
      if (this.retryIn > 0) {
        this.#timer = setTimeout(tick, 1000);
      } else {
        this.#timer = null;
        void this.connect();
      }
    };
    this.#timer = setTimeout(tick, 1000);
  }

  #cancelRetry(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.retryIn = 0;
  }
}
