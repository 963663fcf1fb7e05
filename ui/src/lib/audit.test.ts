import { describe, expect, it } from "vitest";
import {
  adviceText,
  cleanCommand,
  folderSizes,
  formatEfficiency,
  headline,
  imageName,
  layerPath,
  progressFraction,
  progressText,
  sortWasted,
  specialFilesText,
  visibleTreeRows,
  wasteAdvice,
} from "./audit";
import { fakeImages, fakeReport } from "./ipc/mockBackend";

describe("cleanCommand", () => {
  it("drops the legacy builder's no-op shell prefix", () => {
    expect(cleanCommand('/bin/sh -c #(nop)  CMD ["node" "server.js"]')).toBe('CMD ["node" "server.js"]');
    expect(cleanCommand("/bin/sh -c #(nop) ADD file:4f7bd01a2b in / ")).toBe("ADD file:4f7bd01a2b in /");
  });

  it("shows a legacy RUN as RUN, without the shell wrapper", () => {
    expect(cleanCommand("/bin/sh -c apt-get update")).toBe("RUN apt-get update");
  });

  it("drops BuildKit's shell wrapper and marker", () => {
    expect(cleanCommand("RUN /bin/sh -c apk add curl # buildkit")).toBe("RUN apk add curl");
    expect(cleanCommand("COPY . /app # buildkit")).toBe("COPY . /app");
    expect(cleanCommand("WORKDIR /app")).toBe("WORKDIR /app");
  });

  it("gives an empty string for a layer without a recorded step", () => {
    expect(cleanCommand(null)).toBe("");
    expect(cleanCommand("   ")).toBe("");
  });
});

describe("headline", () => {
  it("says what the layers hold, what survives and what a squash saves", () => {
    expect(headline(fakeReport())).toBe(
      "A squash would save 1.03 GB (49%): the layers hold 2.10 GB, the files a container sees take 1.07 GB",
    );
  });

  it("says a squash saves nothing when nothing is lost", () => {
    const report = fakeReport({ layerBytes: 80_000_000, filesystemBytes: 80_000_000, reclaimableBytes: 0 });
    expect(headline(report)).toBe("A squash would save nothing: the layers hold 80.0 MB, the files a container sees take 80.0 MB");
  });
});

describe("specialFilesText", () => {
  it("lists what there is, in words", () => {
    expect(specialFilesText({ devices: 0, fifos: 0, capabilities: 0 })).toBeNull();
    expect(specialFilesText({ devices: 0, fifos: 0, capabilities: 1 })).toBe("1 file with capabilities");
    expect(specialFilesText({ devices: 2, fifos: 1, capabilities: 3 })).toBe("2 device nodes, 1 FIFO and 3 files with capabilities");
    expect(specialFilesText({ devices: 1, fifos: 2, capabilities: 0 })).toBe("1 device node and 2 FIFOs");
  });
});

describe("progress", () => {
  it("says how far the read is, and how much of about how much", () => {
    expect(progressText(null)).toBe("Reading image…");
    expect(progressText({ stage: "reading", done: 0, total: 27_000_000 })).toBe("Reading image…");
    expect(progressText({ stage: "reading", done: 12_200_000, total: 27_000_000 })).toBe("Reading image… 45% (12.2 MB of about 27.0 MB)");
    expect(progressText({ stage: "reading", done: 12_200_000, total: null })).toBe("Reading image… 12.2 MB");
  });

  it("gives no fraction without a total and never more than all", () => {
    expect(progressFraction({ stage: "reading", done: 5, total: null })).toBeNull();
    expect(progressFraction({ stage: "reading", done: 5, total: 0 })).toBeNull();
    expect(progressFraction({ stage: "reading", done: 30, total: 20 })).toBe(1);
    expect(progressText({ stage: "reading", done: 30_000_000, total: 20_000_000 })).toContain("100%");
  });
});

describe("wasted files", () => {
  const files = fakeReport().wastedFiles;

  it("sorts by bytes or by path, ties by path", () => {
    expect(sortWasted(files, "bytes", "desc").map((f) => f.wastedBytes)).toEqual([520e6, 480e6, 28e6, 2e6]);
    expect(sortWasted(files, "path", "asc").map((f) => f.path)[0]).toBe("/app/.cache/build.bin");
    const tied = [
      { path: "/b", wastedBytes: 1, layers: [0, 1] },
      { path: "/a", wastedBytes: 1, layers: [0, 1] },
    ];
    expect(sortWasted(tied, "bytes", "desc").map((f) => f.path)).toEqual(["/a", "/b"]);
    expect(files[0].path).toBe("/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus"); // the input is left alone
  });

  it("writes the layers that touched a file as a path", () => {
    expect(layerPath([1, 2])).toBe("2 → 3");
    expect(layerPath([0])).toBe("1");
  });
});

describe("visibleTreeRows", () => {
  const tree = fakeReport().tree;
  const keys = (expanded: string[]) => visibleTreeRows(tree, new Set(expanded)).map((r) => r.key);

  it("shows only the root while nothing is open", () => {
    expect(keys([])).toEqual(["/"]);
  });

  it("lists an open directory's children, then its other entries", () => {
    expect(keys(["/"])).toEqual(["/", "/app", "/usr", "/var", "/etc", "/\u0000other"]);
    expect(keys(["/", "/usr", "/usr/bin"])).toEqual([
      "/",
      "/app",
      "/usr",
      "/usr/lib",
      "/usr/bin",
      "/usr/bin/node",
      "/usr/bin\u0000other",
      "/usr/share",
      "/var",
      "/etc",
      "/\u0000other",
    ]);
  });

  it("keeps a closed parent's open children hidden, and knows depth and parent size", () => {
    expect(keys(["/usr"])).toEqual(["/"]);
    const rows = visibleTreeRows(tree, new Set(["/", "/usr"]));
    const lib = rows.find((r) => r.key === "/usr/lib")!;
    expect(lib.depth).toBe(2);
    expect(lib.parentBytes).toBe(420_000_000);
    const file = visibleTreeRows(tree, new Set(["/", "/app"])).find((r) => r.key === "/app/server.js")!;
    expect(file.kind === "node" && file.expandable).toBe(false);
  });
});

describe("imageName", () => {
  it("is the first tag, or the short ID for an untagged image", () => {
    const [tagged, , , , , untagged] = fakeImages(6);
    expect(imageName(tagged)).toBe("alpine:0");
    expect(imageName(untagged)).toBe(untagged.shortId);
  });
});

describe("efficiency", () => {
  it("prints dive's efficiency with one decimal", () => {
    expect(formatEfficiency(0.516)).toBe("51.6%");
    expect(formatEfficiency(1)).toBe("100.0%");
    expect(formatEfficiency(0.99996)).toBe("100.0%");
  });
});

describe("wasteAdvice and adviceText", () => {
  it("groups the waste by the steps that wrote and removed it, largest first, in words", () => {
    const advice = wasteAdvice(fakeReport());
    expect(advice.map((a) => [a.writtenIn, a.removedIn, a.files])).toEqual([
      [1, 3, 2],
      [2, 3, 1],
      [0, 1, 1],
    ]);
    expect(adviceText(advice[0])).toBe(
      "1.00 GB in 2 files (/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus, /usr/lib/gcc/x86_64-linux-gnu/12/cc1) were written in step 2 and deleted or overwritten in step 4.",
    );
    expect(adviceText(advice[1])).toBe("28.0 MB in /app/.cache/build.bin was written in step 3 and deleted or overwritten in step 4.");
    expect(wasteAdvice(fakeReport(), 1)).toHaveLength(1);
  });

  it("says a file written twice in one step, and has nothing to say without waste", () => {
    const report = fakeReport({ wastedFiles: [{ path: "/a", wastedBytes: 5_000, layers: [2, 2] }] });
    expect(adviceText(wasteAdvice(report)[0])).toBe("5.00 kB in /a was written more than once in step 3.");
    expect(wasteAdvice(fakeReport({ wastedFiles: [] }))).toEqual([]);
  });
});

describe("folderSizes", () => {
  it("gives each top-level folder's layer bytes and final bytes, with every wasted byte somewhere", () => {
    const report = fakeReport();
    const rows = folderSizes(report);
    const usr = rows.find((r) => r.folder === "/usr")!;
    const usrFinal = report.tree.children.find((c) => c.name === "usr")!.bytes;
    expect(usr).toEqual({ folder: "/usr", before: usrFinal + 1_000_000_000, after: usrFinal });
    expect(rows[0].folder).toBe("/usr");
    expect(rows.reduce((sum, r) => sum + r.before - r.after, 0)).toBe(report.wastedBytes);
    expect(rows.reduce((sum, r) => sum + r.after, 0)).toBe(report.tree.bytes);
  });

  it("gives a top-level file that was deleted later a row of its own, not other", () => {
    const report = fakeReport();
    const zip = { path: "/big.zip", wastedBytes: 256_000_000, layers: [1, 2] };
    const withZip = { ...report, wastedBytes: report.wastedBytes + zip.wastedBytes, wastedFiles: [...report.wastedFiles, zip] };
    const rows = folderSizes(withZip);
    expect(rows.find((r) => r.folder === "/big.zip")).toEqual({ folder: "/big.zip", before: 256_000_000, after: 0 });
    expect(rows.reduce((sum, r) => sum + r.before - r.after, 0)).toBe(withZip.wastedBytes);
  });

  it("folds the smaller folders into other", () => {
    const rows = folderSizes(fakeReport(), 2);
    expect(rows.map((r) => r.folder)).toEqual(["/usr", "/app", "other"]);
    expect(rows.reduce((sum, r) => sum + r.after, 0)).toBe(fakeReport().tree.bytes);
  });
});
