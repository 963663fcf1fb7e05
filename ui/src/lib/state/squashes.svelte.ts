/**
 * Squashes: which image's squash is on screen, and every job behind it, kept by image ID. A job
 * is the plan being edited, then the run, then its outcome; leaving the view keeps it, so edits
 * are still there and a running squash goes on (the list says so and leads back to it).
 *
 *     const squashes = new Squashes({ onConnectionLost: (err) => connection.lost(err) });
 *     squashes.open(image);      // loads the plan, or shows the job already there
 *     job.edited();              // after an edit: Rust renders and checks it, debounced
 *     await job.start();         // preflight; asks first when the tag is taken
 */
import { SvelteMap } from "svelte/reactivity";
import * as ipc from "../ipc";
import type {
  ImageSummary,
  IpcError,
  MethodChoice,
  MethodPick,
  Preflight,
  Progress,
  PruneCandidate,
  PruneResult,
  SettingAt,
  SquashOutcome,
  SquashPlan,
} from "../ipc";
import { keepHoldText } from "../keep";
import { removedCount } from "../prune";
import type { AuditRun, Audits } from "./audits.svelte";
import { changeNames, editedFields, RENDER_DEBOUNCE_MS, sourceName, STAGE_NAME, withImageSettings, type Setting } from "../squash";

/** No setting edited: one frozen empty set rather than a new one per derivation. */
const NO_SETTINGS: ReadonlySet<Setting> = Object.freeze(new Set<Setting>());

export type SquashPhase = "loading" | "loadFailed" | "editing" | "running" | "done" | "failed" | "cancelled";

/**
 * Squash pressed: idle → auditing (the audit's read still going) → checking (preflight) →
 * confirm (tag taken, low disk) → the run.
 */
export type StartStep = "idle" | "auditing" | "checking" | "confirm";

interface Hooks {
  onConnectionLost: (err: IpcError) => void;
}

/** A failure that means the daemon is gone: the owner is told, and true comes back. */
function lostDaemon(err: IpcError, hooks: Hooks): boolean {
  if (!ipc.isConnectionLoss(err)) return false;
  hooks.onConnectionLost(err);
  return true;
}

/** One squash of one image, from its plan to its outcome. */
export class SquashJob {
  readonly image: ImageSummary;
  /**
   * "Make it smaller": the result takes the image's own name, which the person agreed to by
   * choosing it, so only the preflight's warnings ask first; the settings stay the image's.
   */
  readonly guided: boolean;
  phase = $state<SquashPhase>("loading");
  loadError = $state.raw<IpcError | null>(null);

  /** The plan as the image has it, for the "edited" marks and the reset. */
  original = $state.raw<SquashPlan | null>(null);
  /** Deep state: the editor binds its fields into it. */
  plan = $state<SquashPlan | null>(null);
  method = $state<MethodChoice>("auto");
  moveSourceTag = $state(false);
  /** "Keep the first k layers as they are" is chosen, rather than squashing every layer. */
  keeping = $state(false);
  /** The k kept: 0 until the user picks one (a suggestion is never picked for them). */
  keepCount = $state(0);
  /** What the squash is asked to keep: `SquashOptions.keepLayers`. */
  keepLayers = $derived(this.keeping ? this.keepCount : 0);
  /** Why Squash waits on the Layers card (no k yet, a method that cannot keep), or null. */
  keepHold = $derived(keepHoldText(this.keeping, this.keepCount, this.method));

  /** Rust's rendering of the plan; null while the plan is invalid. */
  dockerfile = $state<string | null>(null);
  /** Why Rust refused the plan, naming the field. */
  renderError = $state<string | null>(null);
  /** Which setting (and row) that refusal is about, for saying it at the field. */
  renderSetting = $state.raw<SettingAt | null>(null);
  /** An edit is waiting for its render. */
  rendering = $state(false);

  /** The last preflight: the method the squash will use, a taken tag, disk room. */
  preflight = $state.raw<Preflight | null>(null);
  // The choice the last preflight answered: its pick says nothing of another.
  #preflightMethod = $state<MethodChoice | null>(null);
  /** The method the squash will use and why, once a preflight answered for the one chosen now. */
  pick = $derived<MethodPick | null>(this.preflight !== null && this.#preflightMethod === this.method ? this.preflight.method : null);
  startStep = $state<StartStep>("idle");
  startError = $state.raw<IpcError | null>(null);

  progress = $state.raw<Progress | null>(null);
  /** When the running squash began (ms since the epoch), for the time it has taken so far. */
  startedAt = $state<number | null>(null);
  cancelling = $state(false);
  outcome = $state.raw<SquashOutcome | null>(null);
  error = $state.raw<IpcError | null>(null);
  /** What the squash left without a name, when it did, with the offer to remove it. */
  leftBehind = $state.raw<LeftBehind | null>(null);

  /** The user left the view after the job ended: opening the image again starts afresh. */
  seen = $state(false);

  /** The settings that differ from the image's own, for the "edited" marks. */
  changed = $derived<ReadonlySet<Setting>>(
    this.original !== null && this.plan !== null ? editedFields(this.original, this.plan) : NO_SETTINGS,
  );
  /** The same, named for the result: `APP_HOME`, `user`. */
  changes = $derived<string[]>(this.original !== null && this.plan !== null ? changeNames(this.original, this.plan) : []);
  canStart = $derived(
    this.phase === "editing" &&
      this.startStep === "idle" &&
      !this.rendering &&
      this.renderError === null &&
      this.dockerfile !== null &&
      this.keepHold === null,
  );
  finished = $derived(this.phase === "done" || this.phase === "failed" || this.phase === "cancelled");

  #hooks: Hooks;
  #timer: ReturnType<typeof setTimeout> | null = null;
  // The plan last handed to a render (as JSON): an edit that changes nothing renders nothing.
  #renderedKey = "";
  // Only the newest render's answer counts, and likewise for the preflight.
  #renderGeneration = 0;
  #preflightGeneration = 0;
  #preflightKey = "";

  /**
   * The audit's read of the image, started with the editor when no audit was made: by the time
   * Squash is pressed, the direct method knows where each file is (it reads the image once, not
   * twice), a multi-stage squash whether BuildKit would lose anything, and the verification
   * need not read the image again.
   */
  sourceAudit = $state.raw<AuditRun | null>(null);
  #audits: Audits | null;

  constructor(image: ImageSummary, hooks: Hooks, audits: Audits | null = null, guided = false) {
    this.image = image;
    this.guided = guided && image.tags.length > 0;
    this.#hooks = hooks;
    this.#audits = audits;
  }

  /** Asks Rust for the plan prefilled from the image. */
  async load(): Promise<void> {
    this.phase = "loading";
    this.loadError = null;
    try {
      const plan = await ipc.planSquash(this.image.id, sourceName(this.image));
      this.original = plan;
      this.plan = structuredClone(plan);
      if (this.guided) this.plan.tag = sourceName(this.image);
      this.phase = "editing";
      this.edited();
      this.#startSourceAudit();
    } catch (e) {
      const err = ipc.toIpcError(e);
      if (lostDaemon(err, this.#hooks)) return;
      this.loadError = err;
      this.phase = "loadFailed";
    }
  }

  /**
   * After any edit: renders the plan once the typing pauses. Rust's answer is the check: the
   * Dockerfile, or the message naming what is wrong. An open confirm was about the plan as it
   * was, so it closes.
   */
  edited(): void {
    if (this.plan === null || this.phase !== "editing") return;
    const key = JSON.stringify(this.plan);
    if (key === this.#renderedKey) return;
    this.#renderedKey = key;
    if (this.startStep === "confirm") this.startStep = "idle";
    const generation = ++this.#renderGeneration;
    this.rendering = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const first = this.dockerfile === null && this.renderError === null;
    this.#timer = setTimeout(() => void this.#render(key, generation), first ? 0 : RENDER_DEBOUNCE_MS);
  }

  async #render(key: string, generation: number): Promise<void> {
    this.#timer = null;
    const plan = JSON.parse(key) as SquashPlan;
    try {
      const dockerfile = await ipc.renderSquash(plan);
      if (generation !== this.#renderGeneration) return;
      this.dockerfile = dockerfile;
      this.renderError = null;
      this.renderSetting = null;
      void this.#checkAhead(plan);
    } catch (e) {
      if (generation !== this.#renderGeneration) return;
      this.dockerfile = null;
      const err = ipc.toIpcError(e);
      this.renderError = err.message;
      this.renderSetting = err.setting ?? null;
    } finally {
      if (generation === this.#renderGeneration) this.rendering = false;
    }
  }

  #startSourceAudit(): void {
    if (this.#audits === null) return;
    const run = this.#audits.start(this.image.id);
    this.sourceAudit = run;
    if (run.phase !== "running") return;
    void run.finished.then(() => {
      // The builder a multi-stage squash picks may change now that the image's contents are known.
      this.#preflightKey = "";
      if (this.phase === "editing" && this.dockerfile !== null && !this.rendering) void this.#checkAhead(this.#snapshot());
    });
  }

  /** Stops waiting for the audit's read: it is cancelled, and the squash reads the image itself. */
  async skipAudit(): Promise<void> {
    if (this.sourceAudit?.phase === "running") await this.#audits?.cancel(this.image.id);
  }

  /** The Dockerfile as a stage to paste into one's own (`FROM scratch AS squashed`). */
  renderStage(): Promise<string> {
    return ipc.renderSquash(this.#snapshot(), STAGE_NAME);
  }

  /** Another method: its preflight may warn otherwise (disk room, BuildKit's tag), so an open confirm closes. */
  setMethod(method: MethodChoice): void {
    this.method = method;
    if (this.startStep === "confirm") this.startStep = "idle";
    if (this.dockerfile !== null && !this.rendering) void this.#checkAhead(this.#snapshot());
  }

  /** Every setting back to the image's own; the target tag stays. */
  reset(): void {
    if (this.plan === null || this.original === null) return;
    this.plan = withImageSettings(this.plan, this.original);
  }

  /**
   * A preflight as soon as the plan is valid, so the editor can say which method Auto picks
   * and that the tag is taken before Squash is pressed; asked again only when the tag or the
   * method changes.
   */
  async #checkAhead(plan: SquashPlan): Promise<void> {
    const key = JSON.stringify([plan.tag, this.method]);
    if (key === this.#preflightKey) return;
    this.#preflightKey = key;
    try {
      await this.#preflight(plan);
    } catch {
      // Nothing to say yet: pressing Squash asks again and shows why it failed.
    }
  }

  async #preflight(plan: SquashPlan): Promise<Preflight | null> {
    const generation = ++this.#preflightGeneration;
    const method = this.method;
    try {
      const preflight = await ipc.preflightSquash(plan, method);
      if (generation !== this.#preflightGeneration) return null;
      this.preflight = preflight;
      this.#preflightMethod = method;
      return preflight;
    } catch (e) {
      if (generation !== this.#preflightGeneration) return null;
      const err = ipc.toIpcError(e);
      this.#preflightKey = "";
      if (lostDaemon(err, this.#hooks)) return null;
      // What it said was about a plan that failed a check: none of it holds now.
      this.preflight = null;
      throw err;
    }
  }

  /** Squash pressed: a fresh preflight, then the run, or first the confirm when it warns. */
  async start(): Promise<void> {
    if (!this.canStart) return;
    if (this.sourceAudit?.phase === "running") {
      this.startStep = "auditing";
      await this.sourceAudit.finished;
      if (this.startStep !== "auditing") return;
    }
    this.startStep = "checking";
    this.startError = null;
    const plan = this.#snapshot();
    this.#preflightKey = JSON.stringify([plan.tag, this.method]);
    let preflight: Preflight | null;
    try {
      preflight = await this.#preflight(plan);
    } catch (e) {
      this.startError = ipc.toIpcError(e);
      this.startStep = "idle";
      return;
    }
    if (preflight === null) {
      this.startStep = "idle";
      return;
    }
    const ownName = this.guided && preflight.tagTakenBy === this.image.id;
    if ((preflight.tagTakenBy !== null && !ownName) || preflight.warnings.length > 0) {
      this.startStep = "confirm";
      return;
    }
    await this.#run(plan, ownName);
  }

  /** "Yes" at the confirm: the tag moves off the image it names, if it names one. */
  async confirmStart(): Promise<void> {
    if (this.startStep !== "confirm" || this.plan === null) return;
    await this.#run(this.#snapshot(), this.preflight?.tagTakenBy != null);
  }

  declineStart(): void {
    if (this.startStep === "confirm") this.startStep = "idle";
  }

  async #run(plan: SquashPlan, overwriteTag: boolean): Promise<void> {
    this.phase = "running";
    this.startStep = "idle";
    this.progress = null;
    this.startedAt = Date.now();
    this.error = null;
    this.outcome = null;
    this.seen = false;
    const options = {
      method: this.method,
      overwriteTag,
      moveSourceTag: this.moveSourceTag && this.image.tags.length > 0,
      keepLayers: this.keepLayers,
    };
    try {
      const outcome = await ipc.runSquash(plan, options, (progress) => {
        if (this.phase === "running") this.progress = progress;
      });
      this.outcome = outcome;
      if (outcome.leftBehind.length > 0) {
        this.leftBehind = new LeftBehind(outcome.leftBehind, this.#hooks);
        void this.leftBehind.load();
      }
      this.phase = "done";
    } catch (e) {
      const err = ipc.toIpcError(e);
      this.error = err;
      this.phase = err.code === "cancelled" ? "cancelled" : "failed";
      lostDaemon(err, this.#hooks);
    } finally {
      this.cancelling = false;
    }
  }

  /** Asks the running squash to stop; it removes what it made, then ends `cancelled`. */
  async cancel(): Promise<void> {
    if (this.phase !== "running" || this.cancelling) return;
    this.cancelling = true;
    try {
      await ipc.cancelSquash();
    } catch {
      // The squash goes on and ends by itself; the Cancel button comes back.
      if (this.phase === "running") this.cancelling = false;
    }
  }

  /** After a failure or a cancel: the settings again, as they were, to change or retry. */
  backToSettings(): void {
    if (this.phase !== "failed" && this.phase !== "cancelled") return;
    this.phase = "editing";
    this.error = null;
  }

  #snapshot(): SquashPlan {
    return $state.snapshot(this.plan) as SquashPlan;
  }
}

export type LeftBehindStep = "idle" | "confirm" | "removing" | "done" | "failed";

/** The images a squash left without a name (the one its tag moved off), and their removal. */
export class LeftBehind {
  readonly ids: readonly string[];
  /** The prune preview's entries for them, for their sizes; empty until it answers. */
  candidates = $state.raw<PruneCandidate[]>([]);
  step = $state<LeftBehindStep>("idle");
  progress = $state.raw<Progress | null>(null);
  result = $state.raw<PruneResult | null>(null);
  /** Of `ids`, how many went. */
  removed = $state(0);
  error = $state.raw<IpcError | null>(null);

  #hooks: Hooks;

  constructor(ids: readonly string[], hooks: Hooks) {
    this.ids = ids;
    this.#hooks = hooks;
  }

  async load(): Promise<void> {
    try {
      const preview = await ipc.previewPrune();
      this.candidates = preview.images.filter((c) => this.ids.includes(c.id));
    } catch (e) {
      // Without sizes the question still stands, with the IDs alone.
      lostDaemon(ipc.toIpcError(e), this.#hooks);
    }
  }

  ask(): void {
    if (this.step === "idle" || this.step === "failed") this.step = "confirm";
  }

  no(): void {
    if (this.step === "confirm") this.step = "idle";
  }

  /** Removes exactly these images, each checked again by Rust first. */
  async remove(): Promise<void> {
    if (this.step !== "confirm") return;
    this.step = "removing";
    this.progress = null;
    try {
      const result = await ipc.pruneImages([...this.ids], (progress) => {
        if (this.step === "removing") this.progress = progress;
      });
      this.result = result;
      this.removed = removedCount(this.ids, result);
      this.step = "done";
    } catch (e) {
      const err = ipc.toIpcError(e);
      if (lostDaemon(err, this.#hooks)) return;
      this.error = err;
      this.step = "failed";
    }
  }
}

export interface SquashesHooks {
  /** A squash found the daemon gone; the owner goes back to looking for it. */
  onConnectionLost?: (err: IpcError) => void;
}

export class Squashes {
  /** The image whose squash is on screen; null while another view is. */
  image = $state.raw<ImageSummary | null>(null);

  #jobs = new SvelteMap<string, SquashJob>();
  #hooks: Hooks;

  current = $derived(this.image === null ? null : (this.#jobs.get(this.image.id) ?? null));
  /** The squash running, if one is: the Rust side runs one at a time. */
  running = $derived([...this.#jobs.values()].find((job) => job.phase === "running") ?? null);
  /** A job to point at from the list: running, or ended while nobody looked. */
  background = $derived(
    [...this.#jobs.values()].find((job) => job !== this.current && (job.phase === "running" || (job.finished && !job.seen))) ?? null,
  );

  #audits: Audits | null;

  /** `audits`, when given, reads an image not yet audited while its squash is being edited. */
  constructor(hooks: SquashesHooks = {}, audits: Audits | null = null) {
    this.#audits = audits;
    this.#hooks = {
      onConnectionLost: (err) => {
        // Plans and runs do not outlive a lost daemon (the image may be gone once it is back);
        // an outcome still waiting to be seen does.
        for (const [id, job] of this.#jobs) if (job.phase !== "done") this.#jobs.delete(id);
        this.image = null;
        hooks.onConnectionLost?.(err);
      },
    };
  }

  /**
   * Shows the image's squash, guided ("Make it smaller") or not: the job there is when it is
   * of that kind or still running, unless it ended and was seen; else a new one.
   */
  open(image: ImageSummary, guided = false): void {
    this.image = image;
    const job = this.#jobs.get(image.id);
    const fits = job !== undefined && (job.guided === guided || job.phase === "running");
    if (fits && job.phase !== "loadFailed" && !(job.finished && job.seen)) return;
    const fresh = new SquashJob(image, this.#hooks, this.#audits, guided);
    this.#jobs.set(image.id, fresh);
    void fresh.load();
  }

  /** Back to the list: the job stays (an open confirm is answered no), and a run goes on. */
  close(): void {
    const job = this.current;
    if (job !== null) {
      job.declineStart();
      if (job.finished) job.seen = true;
    }
    this.image = null;
  }
}
