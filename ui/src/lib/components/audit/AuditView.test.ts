import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import App from "../../../App.svelte";
import type { AuditReport, ImageSummary, IpcError } from "../../ipc";
import {
  connectedHandlers,
  FAKE_ATTEMPTS,
  fakeImage,
  fakeInfo,
  fakeReport,
  type Handlers,
  mockCommands,
  progressSender,
} from "../../ipc/mockBackend";
import { deferred } from "../../../test/deferred";

const NOW = Math.floor(Date.now() / 1000);

// Newest first in the list: alpine, then node.
const ALPINE = fakeImage("a1", ["alpine:3.20"], { size: 8_000_000, created: NOW - 60, layers: 4 });
const NODE = fakeImage("b2", ["node:22"], { size: 1_100_000_000, created: NOW - 3600, layers: 4 });
const IMAGES = [ALPINE, NODE];

function backend(overrides: Handlers = {}): Handlers {
  return {
    ...connectedHandlers(IMAGES),
    audit_image: () => fakeReport(),
    cancel_audit: () => null,
    ...overrides,
  };
}

const row = (img: ImageSummary) => screen.getAllByTestId("image-row").find((r) => r.dataset.imageId === img.id)!;

async function renderList(handlers: Handlers) {
  mockCommands(handlers);
  render(App);
  await screen.findAllByTestId("image-row");
}

async function openByClick(img: ImageSummary) {
  await fireEvent.click(within(row(img)).getByTestId("audit-open"));
}

const text = (testId: string) => screen.getByTestId(testId).textContent?.replace(/\s+/g, " ").trim();

describe("audit view", () => {
  it("opens from a row's Audit button, shows progress, then the headline in plain words", async () => {
    const answer = deferred<AuditReport>();
    const audit = vi.fn((args: Record<string, unknown>) => {
      progressSender(args)({ stage: "reading", done: 12_200_000, total: 27_000_000 });
      return answer.promise;
    });
    await renderList(backend({ audit_image: audit }));
    await openByClick(NODE);

    expect(screen.getByTestId("audit-view")).toBeTruthy();
    expect(screen.queryByTestId("image-table")).toBeNull();
    expect(screen.getByTestId("connection-bar")).toBeTruthy();
    await waitFor(() => expect(text("audit-progress-text")).toBe("Reading image… 45% (12.2 MB of about 27.0 MB)"));
    expect(screen.getByRole("progressbar").getAttribute("aria-valuenow")).toBe("45");
    expect(audit).toHaveBeenCalledWith(expect.objectContaining({ imageId: NODE.id }));

    answer.resolve(fakeReport());
    expect(await screen.findByTestId("audit-headline")).toBeTruthy();
    expect(text("audit-headline")).toBe(
      "A squash would save 1.03 GB (49%): the layers hold 2.10 GB, the files a container sees take 1.07 GB",
    );
    expect(text("audit-efficiency")).toBe("51.6% (dive's score)");
    expect(text("audit-wasted")).toContain("1.03 GB");
    expect(text("audit-special")).toContain("1 file with capabilities");
    expect(screen.queryByTestId("audit-progress")).toBeNull();
  });

  it("opens with Enter on the selected row and goes back with Escape and the back button", async () => {
    await renderList(backend());
    const table = screen.getByTestId("image-table");
    table.focus();
    await fireEvent.keyDown(table, { key: "ArrowDown" });
    await fireEvent.keyDown(table, { key: "Enter" });

    expect(await screen.findByTestId("audit-headline")).toBeTruthy();
    expect(screen.getByTestId("audit-view").textContent).toContain("alpine:3.20");

    await fireEvent.keyDown(window, { key: "Escape" });
    expect(screen.queryByTestId("audit-view")).toBeNull();
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId("image-table")));
    expect(row(ALPINE).getAttribute("aria-selected")).toBe("true");

    await fireEvent.dblClick(within(row(NODE)).getByText("1.10 GB"));
    expect(screen.getByTestId("audit-view").textContent).toContain("node:22");
    await fireEvent.click(screen.getByTestId("audit-back"));
    expect(screen.getByTestId("image-table")).toBeTruthy();
  });

  it("draws a row per layer with its cleaned-up step and what it loses later", async () => {
    await renderList(backend());
    await openByClick(NODE);
    await screen.findByTestId("audit-headline");

    const layers = screen.getAllByTestId("layer-row");
    expect(layers).toHaveLength(4);
    const command = within(layers[1]).getByTestId("layer-command");
    expect(command.textContent).toBe("RUN apt-get update && apt-get install -y build-essential python3");
    expect(command.title).toBe("RUN /bin/sh -c apt-get update && apt-get install -y build-essential python3 # buildkit");
    expect(within(layers[0]).getByTestId("layer-command").textContent).toBe("ADD file:4f7bd01a2b in /");
    expect(layers[1].textContent).toContain("1.40 GB");
    expect(within(layers[1]).getByTestId("layer-lost").textContent).toBe("1.00 GB deleted or overwritten later");
    expect(within(layers[3]).queryByTestId("layer-lost")).toBeNull();
    expect(within(layers[3]).getByTestId("layer-files").textContent).toContain("+10");
    expect(within(layers[3]).getByTestId("layer-files").textContent).toContain("~40");

    await fireEvent.click(command);
    expect(command.getAttribute("aria-expanded")).toBe("true");
  });

  it("sorts wasted files by bytes, then by path both ways", async () => {
    await renderList(backend());
    await openByClick(NODE);
    await screen.findByTestId("audit-headline");
    const paths = () => screen.getAllByTestId("wasted-row").map((r) => r.querySelector("td")?.textContent);

    expect(paths()).toEqual([
      "/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus",
      "/usr/lib/gcc/x86_64-linux-gnu/12/cc1",
      "/app/.cache/build.bin",
      "/etc/ld.so.cache",
    ]);
    expect(screen.getAllByTestId("wasted-row")[0].textContent).toContain("520 MB");
    expect(screen.getAllByTestId("wasted-row")[0].textContent).toContain("2 → 4");

    await fireEvent.click(screen.getByTestId("wasted-sort-path"));
    expect(paths()).toEqual([
      "/app/.cache/build.bin",
      "/etc/ld.so.cache",
      "/usr/lib/gcc/x86_64-linux-gnu/12/cc1",
      "/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus",
    ]);
    await fireEvent.click(screen.getByTestId("wasted-sort-path"));
    expect(paths()?.[0]).toBe("/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus");
  });

  it("says so when nothing is wasted", async () => {
    await renderList(backend({ audit_image: () => fakeReport({ wastedFiles: [], wastedBytes: 0 }) }));
    await openByClick(NODE);
    expect((await screen.findByTestId("wasted-empty")).textContent).toBe(
      "Nothing wasted: no file is written and then lost in a later layer.",
    );
    expect(screen.queryAllByTestId("wasted-row")).toHaveLength(0);
  });

  it("shows the root open and expands a directory on click", async () => {
    await renderList(backend());
    await openByClick(NODE);
    await screen.findByTestId("audit-headline");
    const nodes = () => screen.getAllByTestId("tree-node");
    const node = (path: string) => nodes().find((n) => n.dataset.path === path)!;

    expect(nodes().map((n) => n.dataset.path ?? "(other)")).toEqual(["/", "/app", "/usr", "/var", "/etc", "(other)"]);
    expect(nodes()[0].textContent).toContain("1.07 GB");
    expect(nodes().at(-1)?.textContent).toContain("15 more entries · 20.0 MB");

    await fireEvent.click(node("/usr"));
    expect(node("/usr").getAttribute("aria-expanded")).toBe("true");
    expect(nodes().map((n) => n.dataset.path ?? "(other)")).toEqual([
      "/",
      "/app",
      "/usr",
      "/usr/lib",
      "/usr/bin",
      "/usr/share",
      "/var",
      "/etc",
      "(other)",
    ]);
    expect(node("/usr/bin").textContent).toContain("100 MB");

    await fireEvent.click(node("/usr"));
    expect(node("/usr").getAttribute("aria-expanded")).toBe("false");
    expect(nodes()).toHaveLength(6);
  });

  it("cancels a running audit, then runs it again", async () => {
    let stop!: () => void;
    const audit = vi.fn(
      () =>
        new Promise<AuditReport>((_, reject) => {
          stop = () => reject({ code: "cancelled", message: "the audit was cancelled", attempts: null } satisfies IpcError);
        }),
    );
    const cancel = vi.fn(() => {
      stop();
      return null;
    });
    await renderList(backend({ audit_image: audit, cancel_audit: cancel }));
    await openByClick(NODE);
    await waitFor(() => expect(audit).toHaveBeenCalledTimes(1));

    await fireEvent.click(screen.getByTestId("audit-cancel"));
    expect(cancel).toHaveBeenCalledWith({ imageId: NODE.id });
    expect((await screen.findByTestId("audit-cancelled")).textContent).toContain("Audit cancelled");
    expect(screen.queryByTestId("audit-progress")).toBeNull();

    audit.mockImplementation(() => Promise.resolve(fakeReport()));
    await fireEvent.click(screen.getByTestId("audit-rerun"));
    expect(await screen.findByTestId("audit-headline")).toBeTruthy();
    expect(audit).toHaveBeenCalledTimes(2);
  });

  it("says plainly when the image is gone, and tries again", async () => {
    const audit = vi.fn((): AuditReport => {
      throw { code: "imageNotFound", message: `no image named "${NODE.id}"`, attempts: null } satisfies IpcError;
    });
    await renderList(backend({ audit_image: audit }));
    await openByClick(NODE);

    const error = await screen.findByTestId("audit-error");
    expect(error.textContent).toContain("This image is gone");
    expect(error.textContent).toContain(`no image named "${NODE.id}"`);

    audit.mockImplementation(() => fakeReport());
    await fireEvent.click(screen.getByTestId("audit-retry"));
    expect(await screen.findByTestId("audit-headline")).toBeTruthy();
  });

  it("goes to the no-daemon screen when the daemon goes away mid-audit", async () => {
    const connect = vi.fn<() => unknown>(() => fakeInfo());
    await renderList(
      backend({
        connect,
        audit_image: () => {
          connect.mockImplementation(() => Promise.reject({ code: "daemonUnavailable", message: "gone", attempts: FAKE_ATTEMPTS }));
          throw { code: "stream", message: "the daemon closed the image stream", attempts: null } satisfies IpcError;
        },
      }),
    );
    await openByClick(NODE);
    expect(await screen.findByTestId("no-daemon")).toBeTruthy();
  });

  it("exports the report and shows where it was saved, or why not", async () => {
    const exportAudit = vi.fn((args: Record<string, unknown>) => `/home/me/Downloads/node-22-audit.${String(args.format)}`);
    const openExport = vi.fn(() => null);
    await renderList(backend({ export_audit: exportAudit, open_export: openExport }));
    await openByClick(NODE);
    await screen.findByTestId("audit-headline");

    await fireEvent.click(screen.getByTestId("export-html"));
    await waitFor(() => expect(text("export-result")).toBe("Saved to /home/me/Downloads/node-22-audit.html"));
    expect(exportAudit).toHaveBeenCalledWith({ imageId: NODE.id, imageName: "node:22", format: "html" });
    await fireEvent.click(screen.getByTestId("export-reveal"));
    expect(openExport).toHaveBeenCalledWith({ path: "/home/me/Downloads/node-22-audit.html", reveal: true });
    await fireEvent.click(screen.getByTestId("export-open"));
    expect(openExport).toHaveBeenLastCalledWith({ path: "/home/me/Downloads/node-22-audit.html", reveal: false });

    // Cancelled in the save dialog: nothing is said, and the last result goes.
    exportAudit.mockImplementation(() => null as unknown as string);
    await fireEvent.click(screen.getByTestId("export-json"));
    await waitFor(() => expect(screen.queryByTestId("export-result")).toBeNull());

    exportAudit.mockImplementation(() => {
      throw { code: "io", message: "Permission denied (os error 13)", attempts: null } satisfies IpcError;
    });
    await fireEvent.click(screen.getByTestId("export-json"));
    await waitFor(() => expect(text("export-result")).toBe("Couldn't export: Permission denied (os error 13)"));
  });

  it("shows a report it has at once when the image is opened again, without asking Rust", async () => {
    const audit = vi.fn(() => fakeReport());
    await renderList(backend({ audit_image: audit }));
    await openByClick(NODE);
    await screen.findByTestId("audit-headline");
    await fireEvent.click(screen.getByTestId("audit-back"));

    await openByClick(NODE);
    // Straight after the click's render: the report, and no progress bar in between.
    expect(screen.queryByTestId("audit-progress")).toBeNull();
    expect(screen.getByTestId("audit-headline")).toBeTruthy();
    expect(audit).toHaveBeenCalledTimes(1);

    // Another image is a new audit.
    await fireEvent.click(screen.getByTestId("audit-back"));
    await openByClick(ALPINE);
    await screen.findByTestId("audit-headline");
    expect(audit).toHaveBeenCalledTimes(2);
  });
});
