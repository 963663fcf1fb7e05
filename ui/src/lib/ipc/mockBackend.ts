/**
 * A stand-in for the Rust side: for tests (`mockCommands`) and for looking at the UI in a
 * plain browser during `npm run dev` (`installMockBackend`, via `?mock=…`). It answers
 * underneath `invoke`, so the real wrappers and their error handling still run.
 *
 *     mockCommands({ connect: () => fakeInfo(), list_images: () => fakeImages(3) });
 *     mockCommands({ audit_image: (args) => { progressSender(args)({ stage: "reading", done: 1, total: 2 }); return fakeReport(); } });
 *     mockCommands({ disk_usage: () => fakeDiskUsage(), preview_prune: () => fakePrunePreview(3) });
 *     mockCommands({ plan_squash: () => fakePlan(), render_squash: () => "FROM scratch\n", run_squash: () => fakeOutcome() });
 */
import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Command, EVENTS } from "./bindings/ipc_names";
import type {
  Attempt,
  AuditReport,
  CachePreview,
  DaemonInfo,
  DiskUsage,
  ImageSummary,
  Saving,
  IpcError,
  KnownDifference,
  MethodChoice,
  MethodPick,
  Progress,
  PruneCandidate,
  PrunePreview,
  PruneResult,
  Preflight,
  SquashOptions,
  SquashOutcome,
  SquashPlan,
  StartHelp,
  TreeNode,
} from "./index";

type Handler = (args: Record<string, unknown>) => unknown;
export type Handlers = Partial<Record<Command, Handler>>;
/** The news the Rust side emits, by the name it emits them under. */
type EventName = (typeof EVENTS)[keyof typeof EVENTS];

/** Routes each command to its handler; an unhandled one is refused the way Tauri refuses it. */
export function mockCommands(handlers: Handlers): void {
  mockIPC(
    (cmd, args) => {
      const handler = handlers[cmd as Command];
      if (handler === undefined) throw `Command ${cmd} not found`;
      return handler((args ?? {}) as Record<string, unknown>);
    },
    { shouldMockEvents: true },
  );
}

/** Delivers an event to the app's listeners, as the Rust side's `app.emit` would. */
export function emitMockEvent(event: EventName, payload?: unknown): Promise<void> {
  return emit(event, payload);
}

interface MockInternals {
  runCallback(id: number, data: unknown): void;
}

/**
 * What the Rust side's `Channel::send` does for the channel an `audit_image`, `run_squash` or
 * `prune_images` handler was handed (`args.onProgress`): each message goes to the page's callback with its index, the
 * way real channel messages arrive, so the real `Channel` in the wrapper unpacks them.
 */
export function progressSender(args: Record<string, unknown>): (progress: Progress) => void {
  const { id } = args.onProgress as { id: number };
  const internals = (window as unknown as { __TAURI_INTERNALS__: MockInternals }).__TAURI_INTERNALS__;
  let index = 0;
  return (progress) => internals.runCallback(id, { index: index++, message: progress });
}

export function resetMockBackend(): void {
  clearMocks();
}

/** Nothing chosen by the user: the well-known sockets, tried in order. */
export const FAKE_ATTEMPTS: Attempt[] = [
  {
    endpoint: { host: "unix:///var/run/docker.sock", source: { kind: "wellKnown", name: "Docker Engine" }, tls: null },
    outcome: { kind: "failed", reason: "connection refused", problem: null },
  },
  {
    endpoint: { host: "unix:///home/me/.docker/run/docker.sock", source: { kind: "wellKnown", name: "Docker Desktop (macOS)" }, tls: null },
    outcome: { kind: "noSocket" },
  },
];

/** DOCKER_HOST set and dead: the only address tried, the usual sockets left alone. */
export const CHOSEN_ATTEMPTS: Attempt[] = [
  {
    endpoint: { host: "unix:///nonexistent.sock", source: { kind: "dockerHost" }, tls: null },
    outcome: { kind: "failed", reason: "no socket at /nonexistent.sock", problem: null },
  },
  {
    endpoint: { host: "unix:///var/run/docker.sock", source: { kind: "wellKnown", name: "Docker Engine" }, tls: null },
    outcome: { kind: "skipped" },
  },
];

/** What the Rust side's `start_help` answers; a sample, the real text is the core's. */
export function fakeStartHelp(os: StartHelp["os"] = "linux"): StartHelp {
  const engines: Record<StartHelp["os"], StartHelp["engines"]> = {
    linux: [
      { engine: "Docker Engine", action: "Start the Docker service.", command: "sudo systemctl start docker" },
      {
        engine: "Podman",
        action: "Start Podman's Docker-compatible socket for your user.",
        command: "systemctl --user start podman.socket",
      },
    ],
    macos: [
      { engine: "Docker Desktop", action: "Open Docker Desktop from your Applications folder.", command: "open -a Docker" },
      { engine: "Colima", action: "Start Colima's virtual machine.", command: "colima start" },
      { engine: "Podman", action: "Start the Podman machine.", command: "podman machine start" },
    ],
    windows: [
      { engine: "Docker Desktop", action: "Open Docker Desktop from the Start menu.", command: null },
      { engine: "Podman", action: "Start the Podman machine.", command: "podman machine start" },
    ],
  };
  return { os, engines: engines[os] };
}

export function fakeInfo(overrides: Partial<DaemonInfo> = {}): DaemonInfo {
  return {
    endpoint: { host: "unix:///var/run/docker.sock", source: { kind: "wellKnown", name: "Docker Engine (Linux)" }, tls: null },
    route: { kind: "socket", path: "/var/run/docker.sock" },
    hostName: "devbox",
    product: "Docker Engine",
    engineVersion: "27.3.1",
    apiVersion: "1.47",
    storageDriver: "overlay2",
    containerdStore: false,
    operatingSystem: "Debian GNU/Linux 12 (bookworm)",
    osType: "linux",
    architecture: "x86_64",
    rootDir: "/var/lib/docker",
    attempts: [
      {
        endpoint: { host: "unix:///var/run/docker.sock", source: { kind: "wellKnown", name: "Docker Engine (Linux)" }, tls: null },
        outcome: { kind: "answered", product: "Docker Engine", engine: "27.3.1", api: "1.47" },
      },
    ],
    ...overrides,
  };
}

/** A daemon that answers: it connects, lists `images` and tells the disk's figure. */
export function connectedHandlers(images: ImageSummary[]): Handlers {
  return {
    connect: () => fakeInfo(),
    get_settings: () => ({ dockerHost: null }),
    list_images: () => images,
    images_disk_bytes: () => 1_234_000_000,
    diagnose: () => FAKE_ATTEMPTS,
  };
}

export function unavailable(attempts: Attempt[] = FAKE_ATTEMPTS): IpcError {
  return { code: "daemonUnavailable", message: "Docker is not running or not reachable", attempts };
}

/**
 * One image row. `id` is repeated to 64 hex digits ("a1" gives sha256:a1a1…); an image with no
 * tags is dangling; `fields` set the rest (`size` sets Docker's figure too).
 */
export function fakeImage(id: string, tags: string[], fields: Partial<ImageSummary> = {}): ImageSummary {
  const hex = id.replace(/^sha256:/, "");
  const full = hex.repeat(Math.ceil(64 / hex.length)).slice(0, 64);
  const size = fields.size ?? 8_000_000;
  return {
    id: `sha256:${full}`,
    shortId: full.slice(0, 12),
    tags,
    dangling: tags.length === 0,
    inUse: false,
    created: 0,
    size,
    engineSize: size,
    layers: 3,
    saving: { kind: "unknown" },
    ...fields,
  };
}

const REPOS = ["alpine", "debian", "node", "postgres", "redis", "nginx", "python", "golang", "app/api", "app/web"];

/** `n` images, newest first like `list_images`, a minute to a year old, some dangling. */
export function fakeImages(n: number, nowSeconds = Math.floor(Date.now() / 1000)): ImageSummary[] {
  const images: ImageSummary[] = [];
  for (let i = 0; i < n; i++) {
    const hex = (i + 1).toString(16).padStart(4, "0").repeat(16);
    const dangling = i % 7 === 5;
    const repo = REPOS[i % REPOS.length];
    const tags = dangling ? [] : i % 11 === 0 ? [`${repo}:${i}`, `${repo}:latest`] : [`${repo}:${i}`];
    const size = 1_000_000 + ((i * 7_919_317) % 900_000_000);
    images.push({
      id: `sha256:${hex}`,
      shortId: hex.slice(0, 12),
      tags,
      dangling,
      inUse: i % 4 === 1,
      created: nowSeconds - 60 - i * 3600 * 29,
      size,
      engineSize: size,
      layers: 1 + (i % 12),
      saving: fakeSaving(i, size),
    });
  }
  return images;
}

/** Every kind the list shows: measured (some nothing), hinted, unknown. */
function fakeSaving(i: number, size: number): Saving {
  if (i % 3 === 0) return { kind: "measured", bytes: i % 9 === 0 ? 0 : Math.floor(size / 3), layerBytes: size };
  if (i % 3 === 1) return { kind: "likely", step: 4, steps: 6, command: "RUN /bin/sh -c rm -rf /tmp/build", upTo: 312_000_000 };
  return { kind: "unknown" };
}

function file(name: string, bytes: number): TreeNode {
  return { name, kind: "file", bytes, files: 1, children: [], other: null };
}

function dir(name: string, children: TreeNode[], other: TreeNode["other"] = null): TreeNode {
  const bytes = children.reduce((sum, c) => sum + c.bytes, 0) + (other?.bytes ?? 0);
  const files = children.reduce((sum, c) => sum + c.files, 0) + (other?.files ?? 0);
  return { name, kind: "directory", bytes, files, children, other };
}

/**
 * A node image built the careless way: a compiler installed in one layer and purged in a
 * later one. Round numbers, so tests can say what the screen shows: layers 2.10 GB,
 * filesystem 1.07 GB, 1.03 GB (49%) to save by squashing.
 */
export function fakeReport(overrides: Partial<AuditReport> = {}): AuditReport {
  const tree = dir(
    "/",
    [
      dir("app", [dir("node_modules", [], { entries: 412, bytes: 571_000_000, files: 9800 }), file("server.js", 1_000_000)]),
      dir("usr", [
        dir("lib", [dir("x86_64-linux-gnu", [], { entries: 640, bytes: 280_000_000, files: 700 })], {
          entries: 38,
          bytes: 20_000_000,
          files: 300,
        }),
        dir("bin", [file("node", 95_000_000)], { entries: 120, bytes: 5_000_000, files: 120 }),
        dir("share", [], { entries: 90, bytes: 20_000_000, files: 1500 }),
      ]),
      dir("var", [], { entries: 6, bytes: 50_000_000, files: 400 }),
      dir("etc", [file("ld.so.cache", 30_000), file("passwd", 1_000)], { entries: 150, bytes: 7_969_000, files: 180 }),
    ],
    { entries: 15, bytes: 20_000_000, files: 120 },
  );
  return {
    layerBytes: 2_100_000_000,
    filesystemBytes: 1_070_000_000,
    reclaimableBytes: 1_030_000_000,
    wastedBytes: 1_030_000_000,
    efficiency: 0.516,
    baseLayers: null,
    layers: [
      {
        index: 0,
        digest: "sha256:" + "0a".repeat(32),
        createdBy: "/bin/sh -c #(nop) ADD file:4f7bd01a2b in / ",
        bytesAdded: 80_000_000,
        filesAdded: 1200,
        filesChanged: 0,
        filesRemoved: 0,
        bytesLostLater: 2_000_000,
      },
      {
        index: 1,
        digest: "sha256:" + "1b".repeat(32),
        createdBy: "RUN /bin/sh -c apt-get update && apt-get install -y build-essential python3 # buildkit",
        bytesAdded: 1_400_000_000,
        filesAdded: 5000,
        filesChanged: 30,
        filesRemoved: 0,
        bytesLostLater: 1_000_000_000,
      },
      {
        index: 2,
        digest: "sha256:" + "2c".repeat(32),
        createdBy: "COPY . /app # buildkit",
        bytesAdded: 600_000_000,
        filesAdded: 300,
        filesChanged: 0,
        filesRemoved: 0,
        bytesLostLater: 28_000_000,
      },
      {
        index: 3,
        digest: "sha256:" + "3d".repeat(32),
        createdBy: "RUN /bin/sh -c apt-get purge -y build-essential && rm -rf /var/lib/apt/lists/* /app/.cache # buildkit",
        bytesAdded: 20_000_000,
        filesAdded: 10,
        filesChanged: 40,
        filesRemoved: 4800,
        bytesLostLater: 0,
      },
    ],
    wastedFiles: [
      { path: "/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus", wastedBytes: 520_000_000, layers: [1, 3] },
      { path: "/usr/lib/gcc/x86_64-linux-gnu/12/cc1", wastedBytes: 480_000_000, layers: [1, 3] },
      { path: "/app/.cache/build.bin", wastedBytes: 28_000_000, layers: [2, 3] },
      { path: "/etc/ld.so.cache", wastedBytes: 2_000_000, layers: [0, 1] },
    ],
    tree,
    specialFiles: { devices: 0, fifos: 0, capabilities: 1 },
    ...overrides,
  };
}

/**
 * Round numbers, so tests can say what the screen shows: images 4.20 GB (1.30 GB
 * reclaimable), build cache 2.40 GB (all of it reclaimable), and 58.0 GB free of 252 GB at /.
 */
export function fakeDiskUsage(overrides: Partial<DiskUsage> = {}): DiskUsage {
  return {
    images: { count: 24, active: 6, size: 4_200_000_000, reclaimable: 1_300_000_000 },
    containers: { count: 9, active: 3, size: 120_000_000, reclaimable: 40_000_000 },
    volumes: { count: 4, active: 2, size: 800_000_000, reclaimable: 300_000_000 },
    buildCache: { count: 57, active: 0, size: 2_400_000_000, reclaimable: 2_400_000_000 },
    hostDisk: { mountPoint: "/", total: 252_000_000_000, available: 58_000_000_000 },
    ...overrides,
  };
}

/** `n` dangling images, newest first, an hour apart: the k-th (from 1) frees k × 1.5 MB. */
export function fakeCandidates(n: number, nowSeconds = Math.floor(Date.now() / 1000)): PruneCandidate[] {
  return Array.from({ length: n }, (_, i) => {
    const hex = (0xd0 + i).toString(16).repeat(32);
    return {
      id: `sha256:${hex}`,
      shortId: hex.slice(0, 12),
      created: nowSeconds - 3600 * (i + 1),
      size: 200_000_000 + i * 1_000_000,
      engineSize: 200_000_000 + i * 1_000_000,
      uniqueSize: (i + 1) * 1_500_000,
      leftBy: null,
    };
  });
}

export function fakePrunePreview(images: PruneCandidate[] | number, keptInUse = 0): PrunePreview {
  const list = typeof images === "number" ? fakeCandidates(images) : images;
  return { images: list, estimatedBytes: list.reduce((sum, c) => sum + c.uniqueSize, 0), keptInUse };
}

export function fakeCachePreview(overrides: Partial<CachePreview> = {}): CachePreview {
  return { entries: 57, reclaimable: 2_400_000_000, ...overrides };
}

const PLAN_SOURCE = "sha256:" + "5a".repeat(32);

/** A web server's plan, as `plan_squash` prefills it for `web:1.2`: every kind of setting set. */
export function fakePlan(overrides: Partial<SquashPlan> = {}): SquashPlan {
  return {
    sourceId: PLAN_SOURCE,
    sourceName: "web:1.2",
    tag: "web:1.2-squashed",
    env: [
      { key: "PATH", value: "/usr/local/bin:/usr/bin:/bin" },
      { key: "GREETING", value: "hello $USER" },
    ],
    user: "app",
    workingDir: "/srv",
    cmd: ["node", "server.js"],
    entrypoint: null,
    exposedPorts: ["8080/tcp"],
    labels: [{ key: "org.opencontainers.image.title", value: "web" }],
    volumes: ["/data"],
    stopSignal: "SIGTERM",
    healthcheck: {
      test: ["CMD-SHELL", "wget -q -O- localhost:8080/health"],
      interval: 30_000_000_000,
      timeout: 0,
      startPeriod: 0,
      startInterval: 0,
      retries: 3,
    },
    shell: null,
    onBuild: [],
    ...overrides,
  };
}

/** Auto's pick, worded as Rust words it (squash/method.rs). */
export const AUTO_PICK: MethodPick = {
  method: "direct",
  reason:
    "Squashbox writes the layer itself: an exact copy on every engine (times to the nanosecond, devices, FIFOs), and the faster method, with no builder and no build cache left behind",
};

/**
 * Roughly Rust's `choose_method`, for looking at the UI in a browser: a multi-stage squash
 * takes BuildKit once an audit read the image.
 */
function mockPick(choice: MethodChoice, audited: boolean): MethodPick {
  switch (choice) {
    case "auto":
      return AUTO_PICK;
    case "multiStage":
      return audited
        ? { method: "buildKit", reason: "BuildKit: the image has no device nodes or FIFOs for it to lose, and a tag to copy from" }
        : { method: "classic", reason: "the classic builder: the image was not read yet" };
    default:
      return { method: choice, reason: "chosen" };
  }
}

export function fakePreflight(overrides: Partial<Preflight> = {}): Preflight {
  return { method: AUTO_PICK, tagTakenBy: null, bytesNeeded: 2_140_000_000, bytesAvailable: 58_000_000_000, warnings: [], ...overrides };
}

/** What a builder adds whatever the plan says; the direct method adds nothing. */
export const BUILDER_DIFFERENCES: KnownDifference[] = [
  { field: "Env", detail: "PATH moves from position 2 to the first: the builder sets it before any ENV" },
];

/** A verified direct squash of the fake plan: 2.10 GB in 4 layers to 1.07 GB in 1 (49% smaller). */
export function fakeOutcome(overrides: Partial<SquashOutcome> = {}): SquashOutcome {
  return {
    sourceId: PLAN_SOURCE,
    resultId: "sha256:" + "7e".repeat(32),
    tag: "web:1.2-squashed",
    tagged: true,
    movedTag: null,
    method: "direct",
    sizeBefore: 2_100_000_000,
    sizeAfter: 1_070_000_000,
    engineSizeBefore: 2_100_000_000,
    engineSizeAfter: 1_070_000_000,
    layersBefore: 4,
    layersAfter: 1,
    verified: { passed: true, filesystem: [], config: [], allowed: [] },
    knownDifferences: [],
    leftBehind: [],
    buildSeconds: 3.1,
    verifySeconds: 0.4,
    ...overrides,
  };
}

/**
 * A stand-in for the Rust renderer, for looking at the UI in a browser only: values are
 * written as JSON strings and the one check is for line breaks, so the error display shows.
 * The real rules live in Rust (squash/dockerfile.rs) and are never repeated in the UI.
 */
function mockRender(plan: SquashPlan, stage: string | null): string {
  const broken = [...plan.env, ...plan.labels].find((kv) => /[\r\n]/.test(kv.value));
  if (broken !== undefined) {
    throw {
      code: "invalidInput",
      message: `env ${JSON.stringify(broken.value)}: a line break cannot be written on a Dockerfile line`,
      attempts: null,
    } satisfies IpcError;
  }
  const lines =
    stage === null
      ? ["# escape=\\", "FROM scratch", `COPY --from=${plan.sourceId} / /`]
      : [`FROM scratch AS ${stage}`, `COPY --from=${plan.sourceName} / /`];
  if (plan.env.length > 0) lines.push(`ENV ${plan.env.map((kv) => `${kv.key}=${JSON.stringify(kv.value)}`).join(" \\\n    ")}`);
  if (plan.labels.length > 0)
    lines.push(`LABEL ${plan.labels.map((kv) => `${JSON.stringify(kv.key)}=${JSON.stringify(kv.value)}`).join(" ")}`);
  if (plan.workingDir) lines.push(`WORKDIR ${plan.workingDir}`);
  if (plan.exposedPorts.length > 0) lines.push(`EXPOSE ${plan.exposedPorts.join(" ")}`);
  if (plan.volumes.length > 0) lines.push(`VOLUME ${JSON.stringify(plan.volumes)}`);
  if (plan.stopSignal) lines.push(`STOPSIGNAL ${plan.stopSignal}`);
  if (plan.entrypoint?.length) lines.push(`ENTRYPOINT ${JSON.stringify(plan.entrypoint)}`);
  if (plan.cmd !== null) lines.push(`CMD ${JSON.stringify(plan.cmd)}`);
  if (plan.user) lines.push(`USER ${plan.user}`);
  for (const trigger of plan.onBuild) lines.push(`ONBUILD ${trigger}`);
  return lines.join("\n") + "\n";
}

/**
 * For `npm run dev` in a browser: `ok` (default), `down`, `empty`, `many` (300 images),
 * `remote` (a daemon elsewhere: no host disk).
 */
export function installMockBackend(scenario: string): void {
  let dockerHost: string | null = null;
  let up = scenario !== "down";
  let images = scenario === "empty" ? [] : fakeImages(scenario === "many" ? 300 : 24);
  let buildCache = scenario === "empty" ? fakeCachePreview({ entries: 0, reclaimable: 0 }) : fakeCachePreview();
  // Like Rust's preview: dangling and unused; a dangling image's unique bytes are a tenth of it.
  const prunePreview = (): PrunePreview => {
    const candidates = images
      .filter((i) => i.dangling && !i.inUse)
      .map((i) => ({
        id: i.id,
        shortId: i.shortId,
        created: i.created,
        size: i.size,
        engineSize: i.engineSize,
        uniqueSize: Math.round(i.size / 10),
        leftBy: null,
      }));
    return fakePrunePreview(candidates, images.filter((i) => i.dangling && i.inUse).length);
  };
  const pruneImages = (args: Record<string, unknown>) => {
    const ids = args.ids as string[];
    const send = progressSender(args);
    const sizes = new Map(prunePreview().images.map((c) => [c.id, c.uniqueSize]));
    return new Promise<PruneResult>((resolve) => {
      const result: PruneResult = { imagesDeleted: [], spaceReclaimed: 0, skipped: [] };
      let done = 0;
      const timer = setInterval(() => {
        if (done === ids.length) {
          clearInterval(timer);
          images = images.filter((i) => !result.imagesDeleted.includes(i.id));
          void emitMockEvent("images-changed");
          resolve(result);
          return;
        }
        send({ stage: "removing", done, total: ids.length });
        const id = ids[done++];
        const bytes = sizes.get(id);
        if (bytes === undefined) {
          result.skipped.push({ id, reason: "tagged since the preview (app/api:next)" });
        } else {
          result.imagesDeleted.push(id);
          result.spaceReclaimed += bytes;
        }
      }, 400);
    });
  };
  const delay = <T>(ms: number, value: () => T) =>
    new Promise<T>((resolve, reject) =>
      setTimeout(() => {
        try {
          resolve(value());
        } catch (e) {
          reject(e);
        }
      }, ms),
    );
  const connect = () => {
    if (!up) throw unavailable();
    return fakeInfo();
  };
  // Like the Rust side: reports kept by ID, a running audit stoppable by ID.
  const reports = new Map<string, AuditReport>();
  const running = new Map<string, () => void>();
  const auditImage = (args: Record<string, unknown>) => {
    const id = args.imageId as string;
    const cached = reports.get(id);
    if (cached) return cached;
    const send = progressSender(args);
    const total = images.find((i) => i.id === id)?.size ?? 500_000_000;
    return new Promise<AuditReport>((resolve, reject) => {
      let done = 0;
      const timer = setInterval(() => {
        done = Math.min(total, done + total / 40);
        send({ stage: "reading", done, total });
        if (done >= total) {
          clearInterval(timer);
          running.delete(id);
          const report = fakeReport();
          reports.set(id, report);
          resolve(report);
        }
      }, 75);
      running.set(id, () => {
        clearInterval(timer);
        running.delete(id);
        reject({ code: "cancelled", message: "the audit was cancelled", attempts: null } satisfies IpcError);
      });
    });
  };
  // One squash at a time, like the Rust side. The direct method reads the image (unless an
  // audit did) and writes the layer; a multi-stage one builds 3 steps, then reads both images.
  let stopSquash: (() => void) | null = null;
  const runSquash = (args: Record<string, unknown>) => {
    const plan = args.plan as SquashPlan;
    const options = args.options as SquashOptions;
    const send = progressSender(args);
    const audited = reports.has(plan.sourceId);
    const method = mockPick(options.method, audited).method;
    if (options.keepLayers > 0 && method !== "direct") {
      return Promise.reject({
        code: "invalidInput",
        message: "only the direct method keeps layers: a multi-stage copy makes one layer of everything",
        attempts: null,
      } satisfies IpcError);
    }
    const total = images.find((i) => i.id === plan.sourceId)?.size ?? 2_100_000_000;
    const read = (stage: string) => Array.from({ length: 10 }, (_, i) => ({ stage, done: ((i + 1) * total) / 10, total }));
    const steps: Progress[] = [
      ...(method === "direct"
        ? [...(audited ? [] : read("reading source")), ...read("squashing")]
        : [...[1, 2, 3].map((done) => ({ stage: "building", done, total: 3 })), ...read("verifying source"), ...read("verifying result")]),
      { stage: "tagging", done: 0, total: null },
    ];
    return new Promise<SquashOutcome>((resolve, reject) => {
      const timer = setInterval(() => {
        const next = steps.shift();
        if (next !== undefined) return send(next);
        clearInterval(timer);
        stopSquash = null;
        const source = images.find((i) => i.id === plan.sourceId);
        const moved = options.moveSourceTag ? plan.sourceName : null;
        if (moved !== null) images = images.map((i) => (i.id === plan.sourceId ? { ...i, tags: [], dangling: true } : i));
        void emitMockEvent("images-changed");
        resolve(
          fakeOutcome({
            sourceId: plan.sourceId,
            tag: plan.tag,
            movedTag: moved,
            leftBehind: moved === null ? [] : [plan.sourceId],
            sizeBefore: source?.size ?? 2_100_000_000,
            sizeAfter: Math.round((source?.size ?? 2_100_000_000) * 0.55),
            engineSizeBefore: source?.engineSize ?? 2_100_000_000,
            engineSizeAfter: Math.round((source?.engineSize ?? 2_100_000_000) * 0.55),
            layersBefore: source?.layers ?? 4,
            layersAfter: options.keepLayers + 1,
            method,
            knownDifferences: method === "direct" ? [] : BUILDER_DIFFERENCES,
          }),
        );
      }, 250);
      stopSquash = () => {
        clearInterval(timer);
        stopSquash = null;
        reject({ code: "cancelled", message: "the squash was cancelled", attempts: null } satisfies IpcError);
      };
    });
  };
  // Every command, so the browser preview answers each one the window may call.
  const everyCommand: Record<Command, Handler> = {
    connect: () => delay(300, connect),
    list_images: () => delay(150, () => images),
    images_disk_bytes: () => delay(900, () => images.reduce((sum, i) => sum + i.size, 0) * 0.6),
    diagnose: () => delay(200, () => FAKE_ATTEMPTS),
    start_help: () => fakeStartHelp(),
    get_settings: () => ({ dockerHost }),
    set_docker_host: (args) => {
      const host = (args.host as string | null) ?? null;
      if (host !== null && !/^(unix|tcp|npipe|ssh):\/\//.test(host)) {
        throw {
          code: "invalidInput",
          message: "Not a Docker address: use unix:///path/to/docker.sock, tcp://host:port or npipe:////./pipe/name",
          attempts: null,
        } satisfies IpcError;
      }
      dockerHost = host;
      up = host !== null || scenario !== "down";
      return delay(300, connect);
    },
    audit_image: auditImage,
    cancel_audit: (args) => {
      running.get(args.imageId as string)?.();
      return null;
    },
    disk_usage: () =>
      delay(1200, () =>
        fakeDiskUsage({
          buildCache: { count: buildCache.entries, active: 0, size: buildCache.reclaimable, reclaimable: buildCache.reclaimable },
          hostDisk: scenario === "remote" ? null : fakeDiskUsage().hostDisk,
        }),
      ),
    preview_prune: () => delay(300, prunePreview),
    prune_images: pruneImages,
    preview_build_cache: () => delay(300, () => buildCache),
    prune_build_cache: () =>
      delay(1000, () => {
        const freed = { entriesDeleted: buildCache.entries, spaceReclaimed: buildCache.reclaimable };
        buildCache = { entries: 0, reclaimable: 0 };
        return freed;
      }),
    plan_squash: (args) => {
      const id = args.imageId as string;
      const name = args.name as string;
      const tag = name === id ? `squashed-${id.slice(7, 19)}:latest` : `${name.includes(":") ? name : `${name}:latest`}-squashed`;
      return delay(200, () => fakePlan({ sourceId: id, sourceName: name, tag }));
    },
    render_squash: (args) => mockRender(args.plan as SquashPlan, (args.stage as string | null) ?? null),
    preflight_squash: (args) => {
      const plan = args.plan as SquashPlan;
      const method = mockPick(args.method as MethodChoice, reports.has(plan.sourceId));
      const tagTakenBy = images.find((i) => i.tags.includes(plan.tag))?.id ?? null;
      return delay(150, () => fakePreflight({ method, tagTakenBy }));
    },
    run_squash: (args) =>
      stopSquash !== null
        ? Promise.reject({ code: "invalidInput", message: "another squash is running: wait for it to end", attempts: null })
        : runSquash(args),
    cancel_squash: () => {
      stopSquash?.();
      return null;
    },
    export_audit: (args) => {
      if (!reports.has(args.imageId as string)) {
        throw { code: "invalidInput", message: "audit the image before exporting its report", attempts: null } satisfies IpcError;
      }
      const name = String(args.imageName).replace(/[^A-Za-z0-9._-]+/g, "-");
      return delay(200, () => `/home/me/Downloads/${name}-audit.${String(args.format)}`);
    },
    open_export: () => null,
  };
  mockCommands(everyCommand);
}
