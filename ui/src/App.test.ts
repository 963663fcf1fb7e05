import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { tick } from "svelte";
import { describe, expect, it, vi } from "vitest";
import App from "./App.svelte";
import type { ImageSummary, IpcError } from "./lib/ipc";
import {
  CHOSEN_ATTEMPTS,
  connectedHandlers,
  emitMockEvent,
  FAKE_ATTEMPTS,
  fakeImage,
  fakeImages,
  fakeInfo,
  fakeStartHelp,
  type Handlers,
  mockCommands,
  unavailable,
} from "./lib/ipc/mockBackend";

const NOW = Math.floor(Date.now() / 1000);

const IMAGES = [
  fakeImage("a1", ["alpine:3.20", "alpine:latest"], { size: 8_000_000, created: NOW - 120, layers: 3 }),
  fakeImage("b2", ["node:22"], { size: 1_100_000_000, created: NOW - 86400 * 2, layers: 3 }),
  fakeImage("c3", [], { size: 50_000_000, created: NOW - 86400 * 3, layers: 3 }),
  fakeImage("d4", ["postgres:16"], { size: 450_000_000, created: NOW - 86400 * 4, layers: 3 }),
];

function backend(overrides: Handlers = {}): Handlers {
  return {
    ...connectedHandlers(IMAGES),
    start_help: () => fakeStartHelp("linux"),
    ...overrides,
  };
}

const rows = () => screen.getAllByTestId("image-row");
const rowTags = () =>
  rows().map((r) =>
    within(r)
      .queryAllByTestId("image-tag")
      .map((t) => t.textContent)
      .join(","),
  );

async function renderList(handlers: Handlers = backend()) {
  mockCommands(handlers);
  render(App);
  await screen.findAllByTestId("image-row");
}

describe("image list", () => {
  it("renders a row per image, every tag of it, and the connection", async () => {
    await renderList();
    expect(rows()).toHaveLength(4);
    expect(rowTags()).toEqual(["alpine:3.20,alpine:latest", "node:22", "", "postgres:16"]);
    expect(rows()[0].dataset.imageId).toBe(IMAGES[0].id);
    expect(within(rows()[2]).getByTestId("image-untagged").textContent).toBe("<none>");
    expect(within(rows()[2]).getByTestId("badge-dangling")).toBeTruthy();
    expect(within(rows()[0]).getByText("a1a1a1a1a1a1")).toBeTruthy();
    expect(within(rows()[0]).getByText("8.00 MB")).toBeTruthy();
    expect(within(rows()[0]).getByText("2 minutes ago")).toBeTruthy();
    expect(screen.getByTestId("image-count").textContent).toBe("4 images");
    const bar = screen.getByTestId("connection-bar");
    expect(bar.textContent).toContain("unix:///var/run/docker.sock");
    expect(bar.textContent).toContain("via Docker Engine (Linux)");
    // Docker's own terms wait behind Details.
    expect(bar.textContent).not.toContain("overlay2");
    await fireEvent.click(within(bar).getByTestId("connection-details"));
    expect(bar.textContent).toContain("Docker Engine 27.3.1");
    expect(bar.textContent).toContain("overlay2");
    expect(bar.textContent).toContain("linux/x86_64");
  });

  it("fills in the disk total once it answers, or shows why not", async () => {
    let answer!: (bytes: number) => void;
    await renderList(backend({ images_disk_bytes: () => new Promise<number>((resolve) => (answer = resolve)) }));
    expect(screen.getByTestId("total-size").textContent).toBe("…");
    answer(1_234_000_000);
    await waitFor(() => expect(screen.getByTestId("total-size").textContent).toBe("1.23 GB"));
  });

  it("shows a dash with the error in a tooltip when the disk total fails", async () => {
    await renderList(
      backend({
        images_disk_bytes: () => {
          throw { code: "daemon", message: "df timed out", attempts: null } satisfies IpcError;
        },
      }),
    );
    await waitFor(() => expect(screen.getByTestId("total-size").textContent).toBe("—"));
    expect(screen.getByTestId("total-size").title).toContain("df timed out");
  });

  it("narrows rows with the filter, says when nothing matches, and clears on Escape", async () => {
    await renderList();
    const filter = screen.getByTestId("filter") as HTMLInputElement;
    expect(filter.placeholder).toBe("Filter by tag or ID");

    await fireEvent.input(filter, { target: { value: "ALP" } });
    expect(rowTags()).toEqual(["alpine:3.20,alpine:latest"]);
    expect(screen.getByTestId("image-count").textContent).toBe("1 of 4 images");

    await fireEvent.input(filter, { target: { value: "d4d4" } });
    expect(rowTags()).toEqual(["postgres:16"]);

    await fireEvent.input(filter, { target: { value: "xyz" } });
    expect(screen.queryAllByTestId("image-row")).toHaveLength(0);
    expect(screen.getByTestId("empty").textContent).toContain("No image matches “xyz”");

    await fireEvent.keyDown(filter, { key: "Escape" });
    expect(filter.value).toBe("");
    expect(rows()).toHaveLength(4);
  });

  it("focuses the filter on /", async () => {
    await renderList();
    await fireEvent.keyDown(document.body, { key: "/" });
    expect(document.activeElement).toBe(screen.getByTestId("filter"));
  });

  it("sorts by size from the control and the column header, toggling direction", async () => {
    await renderList();
    await fireEvent.click(screen.getByTestId("sort-size"));
    expect(rowTags()).toEqual(["node:22", "postgres:16", "", "alpine:3.20,alpine:latest"]);
    expect(screen.getByTestId("sort-header-size").closest("th")?.getAttribute("aria-sort")).toBe("descending");

    await fireEvent.click(screen.getByTestId("sort-header-size"));
    expect(rowTags()).toEqual(["alpine:3.20,alpine:latest", "", "postgres:16", "node:22"]);
    expect(screen.getByTestId("sort-header-size").closest("th")?.getAttribute("aria-sort")).toBe("ascending");

    await fireEvent.click(screen.getByTestId("sort-header-name"));
    expect(rowTags()).toEqual(["alpine:3.20,alpine:latest", "node:22", "postgres:16", ""]);
  });

  it("moves the selection with the keyboard", async () => {
    await renderList();
    const table = screen.getByTestId("image-table");
    const selected = () => rows().findIndex((r) => r.getAttribute("aria-selected") === "true");
    table.focus();
    expect(selected()).toBe(-1);

    await fireEvent.keyDown(table, { key: "ArrowDown" });
    expect(selected()).toBe(0);
    expect(table.getAttribute("aria-activedescendant")).toBe(rows()[0].id);
    await fireEvent.keyDown(table, { key: "ArrowDown" });
    await fireEvent.keyDown(table, { key: "ArrowDown" });
    expect(selected()).toBe(2);
    await fireEvent.keyDown(table, { key: "ArrowUp" });
    expect(selected()).toBe(1);
    await fireEvent.keyDown(table, { key: "End" });
    expect(selected()).toBe(3);
    await fireEvent.keyDown(table, { key: "ArrowDown" });
    expect(selected()).toBe(3);
    await fireEvent.keyDown(table, { key: "Home" });
    expect(selected()).toBe(0);

    await fireEvent.click(within(rows()[3]).getByText("450 MB"));
    expect(selected()).toBe(3);
  });

  it("says there are no images when there are none", async () => {
    mockCommands(backend({ list_images: () => [] }));
    render(App);
    expect((await screen.findByTestId("empty")).textContent).toContain("No images");
    expect(screen.getByTestId("image-count").textContent).toBe("0 images");
  });

  it("refreshes from the button and F5", async () => {
    const list = vi.fn(() => IMAGES);
    await renderList(backend({ list_images: list }));
    expect(list).toHaveBeenCalledTimes(1);
    list.mockReturnValue(IMAGES.slice(0, 2));
    await fireEvent.click(screen.getByTestId("refresh"));
    await waitFor(() => expect(rows()).toHaveLength(2));
    await fireEvent.keyDown(window, { key: "F5" });
    await waitFor(() => expect(list).toHaveBeenCalledTimes(3));
  });

  it("goes back to the no-daemon screen when a refresh finds Docker gone", async () => {
    const list = vi.fn<() => ImageSummary[]>(() => IMAGES);
    await renderList(backend({ list_images: list }));
    list.mockImplementation(() => {
      throw unavailable();
    });
    await fireEvent.click(screen.getByTestId("refresh"));
    expect(await screen.findByTestId("no-daemon")).toBeTruthy();
  });

  it("refreshes once after a burst of images-changed news", async () => {
    const list = vi.fn(() => IMAGES);
    await renderList(backend({ list_images: list }));
    list.mockReturnValue(IMAGES.slice(1));
    await emitMockEvent("images-changed");
    await emitMockEvent("images-changed");
    await emitMockEvent("images-changed");
    await waitFor(() => expect(rows()).toHaveLength(3));
    expect(list).toHaveBeenCalledTimes(2);
  });

  it("goes to the no-daemon screen when the daemon's news stream ends", async () => {
    await renderList(backend({ connect: vi.fn().mockReturnValueOnce(fakeInfo()).mockRejectedValue(unavailable()) }));
    await emitMockEvent("daemon-lost", { code: "stream", message: "the daemon closed its event stream", attempts: null });
    expect(await screen.findByTestId("no-daemon")).toBeTruthy();
  });

  // Speed is measured by scripts/bench-image-list.sh, not here; this checks nothing is dropped.
  it("renders every one of 300 images", async () => {
    const many = fakeImages(300);
    mockCommands(backend({ list_images: () => many }));
    render(App);
    await screen.findAllByTestId("image-row");
    expect(rows()).toHaveLength(300);
  });
});

describe("no daemon", () => {
  // Fake timers drive the retry clock; the IPC mock answers through promises only.
  async function settle(ms = 0) {
    await vi.advanceTimersByTimeAsync(ms);
    await tick();
  }

  it("names the address the user chose when only that one was tried", async () => {
    vi.useFakeTimers();
    mockCommands(
      backend({
        connect: () => {
          throw unavailable(CHOSEN_ATTEMPTS);
        },
      }),
    );
    render(App);
    await settle();

    const text = screen.getByTestId("no-daemon").textContent ?? "";
    expect(text).toContain("Docker isn't reachable");
    expect(text).toContain("unset DOCKER_HOST");
    const attempts = screen.getAllByTestId("attempt").map((a) => a.textContent?.replace(/\s+/g, " ").trim());
    expect(attempts).toEqual([
      "DOCKER_HOST unix:///nonexistent.sock failed: no socket at /nonexistent.sock",
      "Docker Engine unix:///var/run/docker.sock not tried",
    ]);
  });

  it("shows what was tried, retries every 3 s, and opens the list once Docker answers", async () => {
    vi.useFakeTimers();
    let up = false;
    const connect = vi.fn(() => {
      if (!up) throw unavailable();
      return fakeInfo();
    });
    mockCommands(backend({ connect }));
    render(App);
    await settle();

    const screenEl = screen.getByTestId("no-daemon");
    expect(screenEl.textContent).toContain("Docker isn't running");
    const attempts = screen.getAllByTestId("attempt").map((a) => a.textContent?.replace(/\s+/g, " ").trim());
    expect(attempts).toEqual([
      "Docker Engine unix:///var/run/docker.sock failed: connection refused",
      "Docker Desktop (macOS) unix:///home/me/.docker/run/docker.sock no socket there",
    ]);
    expect(screen.getByTestId("retry-status").textContent).toContain("Retrying in 3 s");
    expect(screenEl.textContent).toContain("sudo systemctl start docker");
    expect(screenEl.textContent).toContain("DOCKER_HOST");

    await settle(1000);
    expect(screen.getByTestId("retry-status").textContent).toContain("Retrying in 2 s");
    await settle(2000);
    expect(connect).toHaveBeenCalledTimes(2);
    expect(screen.getByTestId("no-daemon")).toBeTruthy();

    up = true;
    await settle(3000);
    expect(connect).toHaveBeenCalledTimes(3);
    await settle();
    expect(screen.queryByTestId("no-daemon")).toBeNull();
    expect(screen.getAllByTestId("image-row")).toHaveLength(4);

    // Connected: no more retries.
    await settle(10_000);
    expect(connect).toHaveBeenCalledTimes(3);
  });

  it("tells a Mac user how to start Docker Desktop, Colima or Podman, and opens the list once one answers", async () => {
    vi.useFakeTimers();
    let up = false;
    mockCommands(
      backend({
        connect: () => {
          if (!up) throw unavailable();
          return fakeInfo();
        },
        start_help: () => fakeStartHelp("macos"),
      }),
    );
    render(App);
    await settle();

    const text = screen.getByTestId("no-daemon").textContent ?? "";
    expect(text).toContain("Start Docker on your Mac");
    const engines = screen.getAllByTestId("start-engine").map((e) => e.textContent?.replace(/\s+/g, " ").trim());
    expect(engines).toEqual([
      "Docker Desktop — Open Docker Desktop from your Applications folder. In a terminal: open -a Docker",
      "Colima — Start Colima's virtual machine. In a terminal: colima start",
      "Podman — Start the Podman machine. In a terminal: podman machine start",
    ]);
    expect(text).not.toContain("systemctl");

    up = true;
    await settle(3000);
    await settle();
    expect(screen.queryByTestId("no-daemon")).toBeNull();
    expect(screen.getAllByTestId("image-row")).toHaveLength(4);
  });

  it("gives general advice when the app cannot say how to start Docker here", async () => {
    vi.useFakeTimers();
    mockCommands(
      backend({
        connect: () => {
          throw unavailable();
        },
        start_help: () => {
          throw "Command start_help not found";
        },
      }),
    );
    render(App);
    await settle();
    expect(screen.queryByTestId("start-help")).toBeNull();
    expect(screen.getByTestId("no-daemon").textContent).toContain("sudo systemctl start docker");
  });

  it("retries at once on Retry now", async () => {
    vi.useFakeTimers();
    const connect = vi.fn(() => {
      throw unavailable();
    });
    mockCommands(backend({ connect }));
    render(App);
    await settle();
    await fireEvent.click(screen.getByTestId("retry-now"));
    await settle();
    expect(connect).toHaveBeenCalledTimes(2);
    expect(screen.getByTestId("retry-status").textContent).toContain("Retrying in 3 s");
  });

  it("asks diagnose for details when the failure carries none", async () => {
    vi.useFakeTimers();
    const diagnose = vi.fn(() => FAKE_ATTEMPTS.slice(0, 1));
    mockCommands(
      backend({
        connect: () => {
          throw { code: "daemonUnavailable", message: "nothing answered", attempts: null } satisfies IpcError;
        },
        diagnose,
      }),
    );
    render(App);
    await settle();
    expect(diagnose).toHaveBeenCalled();
    expect(screen.getAllByTestId("attempt")).toHaveLength(1);
  });

  it("shows the message of a malformed address and keeps looking", async () => {
    vi.useFakeTimers();
    const setHost = vi.fn((args: Record<string, unknown>) => {
      throw {
        code: "invalidInput",
        message: `"${String(args.host)}" is not an address: use unix:///path, tcp://host:port or npipe:////./pipe/name`,
        attempts: null,
      } satisfies IpcError;
    });
    mockCommands(backend({ connect: () => Promise.reject(unavailable()), set_docker_host: setHost }));
    render(App);
    await settle();

    const input = screen.getByTestId("host-input") as HTMLInputElement;
    await fireEvent.input(input, { target: { value: "  /var/run/docker.sock " } });
    await fireEvent.click(screen.getByTestId("host-use"));
    await settle();

    expect(setHost).toHaveBeenCalledWith({ host: "/var/run/docker.sock" });
    const error = screen.getByTestId("host-error");
    expect(error.textContent).toContain('"/var/run/docker.sock" is not an address: use unix:///path');
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(screen.queryByTestId("host-clear")).toBeNull();
    expect(screen.getByTestId("retry-status").textContent).toContain("Retrying in 3 s");
  });

  it("connects through a chosen address, and offers Clear once one is saved", async () => {
    vi.useFakeTimers();
    let saved: string | null = null;
    mockCommands(
      backend({
        connect: () => {
          throw unavailable();
        },
        get_settings: () => ({ dockerHost: saved }),
        set_docker_host: (args) => {
          saved = args.host as string | null;
          return fakeInfo({ endpoint: { host: saved!, source: { kind: "setting" }, tls: null } });
        },
      }),
    );
    render(App);
    await settle();

    await fireEvent.input(screen.getByTestId("host-input"), { target: { value: "unix:///tmp/podman.sock" } });
    await fireEvent.click(screen.getByTestId("host-use"));
    await settle();

    expect(screen.queryByTestId("no-daemon")).toBeNull();
    const bar = screen.getByTestId("connection-bar");
    expect(bar.textContent).toContain("unix:///tmp/podman.sock");
    expect(bar.textContent).toContain("via your saved address");
    await fireEvent.click(screen.getByTestId("change-address"));
    expect((screen.getByTestId("host-input") as HTMLInputElement).value).toBe("unix:///tmp/podman.sock");
    expect(screen.getByTestId("host-clear")).toBeTruthy();
  });
});
