/**
 * A stand-in for the Rust side: for tests (`mockCommands`) and for looking at the UI in a
 * plain browser during `npm run dev` (`installMockBackend`, via `?mock=…`). It answers
 * underneath `invoke`, so the real wrappers and their error handling still run.
 *
 *     mockCommands({ connect: () => fakeInfo(), list_images: () => fakeImages(3) });
 */
import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Attempt, DaemonInfo, ImageSummary, IpcError } from "./index";

export type Command =
  | "connect"
  | "list_images"
  | "disk_usage"
  | "diagnose"
  | "get_settings"
  | "set_docker_host";

export type Handlers = Partial<Record<Command, (args: Record<string, unknown>) => unknown>>;

/** Routes each command to its handler; an unhandled one is refused the way Tauri refuses it. */
export function mockCommands(handlers: Handlers): void {
  mockIPC((cmd, args) => {
    const handler = handlers[cmd as Command];
    if (handler === undefined) throw `Command ${cmd} not found`;
    return handler((args ?? {}) as Record<string, unknown>);
  }, { shouldMockEvents: true });
}

/** Delivers an event to the app's listeners, as the Rust side's `app.emit` would. */
export function emitMockEvent(event: string, payload?: unknown): Promise<void> {
  return emit(event, payload);
}

export function resetMockBackend(): void {
  clearMocks();
}

/** Nothing chosen by the user: the well-known sockets, tried in order. */
export const FAKE_ATTEMPTS: Attempt[] = [
  {
    endpoint: { host: "unix:///var/run/docker.sock", source: { kind: "wellKnown", name: "Docker Engine" } },
    outcome: { kind: "failed", reason: "connection refused" },
  },
  {
    endpoint: { host: "unix:///home/me/.docker/run/docker.sock", source: { kind: "wellKnown", name: "Docker Desktop (macOS)" } },
    outcome: { kind: "noSocket" },
  },
];

/** DOCKER_HOST set and dead: the only address tried, the usual sockets left alone. */
export const CHOSEN_ATTEMPTS: Attempt[] = [
  {
    endpoint: { host: "unix:///nonexistent.sock", source: { kind: "dockerHost" } },
    outcome: { kind: "failed", reason: "no socket at /nonexistent.sock" },
  },
  {
    endpoint: { host: "unix:///var/run/docker.sock", source: { kind: "wellKnown", name: "Docker Engine" } },
    outcome: { kind: "skipped" },
  },
];

export function fakeInfo(overrides: Partial<DaemonInfo> = {}): DaemonInfo {
  return {
    endpoint: { host: "unix:///var/run/docker.sock", source: { kind: "wellKnown", name: "Docker Engine (Linux)" } },
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
        endpoint: { host: "unix:///var/run/docker.sock", source: { kind: "wellKnown", name: "Docker Engine (Linux)" } },
        outcome: { kind: "answered", engine: "27.3.1", api: "1.47" },
      },
    ],
    ...overrides,
  };
}

export function unavailable(attempts: Attempt[] = FAKE_ATTEMPTS): IpcError {
  return { code: "daemonUnavailable", message: "Docker is not running or not reachable", attempts };
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
    images.push({
      id: `sha256:${hex}`,
      shortId: hex.slice(0, 12),
      tags,
      dangling,
      inUse: i % 4 === 1,
      created: nowSeconds - 60 - i * 3600 * 29,
      size: 1_000_000 + ((i * 7_919_317) % 900_000_000),
      layers: 1 + (i % 12),
    });
  }
  return images;
}

/** For `npm run dev` in a browser: `ok` (default), `down`, `empty`, `many` (300 images). */
export function installMockBackend(scenario: string): void {
  let dockerHost: string | null = null;
  let up = scenario !== "down";
  const images = scenario === "empty" ? [] : fakeImages(scenario === "many" ? 300 : 24);
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
  mockCommands({
    connect: () => delay(300, connect),
    list_images: () => delay(150, () => images),
    disk_usage: () => delay(900, () => images.reduce((sum, i) => sum + i.size, 0) * 0.6),
    diagnose: () => delay(200, () => FAKE_ATTEMPTS),
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
  });
}
