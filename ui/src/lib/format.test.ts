import { describe, expect, it } from "vitest";
import byteSizes from "./byte-sizes.json";
import {
  countLabel,
  formatBytes,
  formatDate,
  formatSeconds,
  formatShare,
  outcomeText,
  plural,
  routeText,
  relativeTime,
  shortId,
  sizeTitle,
  sourceLabel,
  splitTag,
  viaLabel,
} from "./format";

describe("formatSeconds", () => {
  it("gives a tenth under ten seconds, whole seconds under a minute, then minutes", () => {
    expect(formatSeconds(2.44)).toBe("2.4 s");
    expect(formatSeconds(9.96)).toBe("10 s");
    expect(formatSeconds(38.2)).toBe("38 s");
    expect(formatSeconds(59.6)).toBe("1 min 00 s");
    expect(formatSeconds(185)).toBe("3 min 05 s");
    expect(formatSeconds(-1)).toBe("—");
  });
});

describe("formatBytes", () => {
  it("reads as the CLI's does: decimal units, three significant digits, never 1000", () => {
    for (const [bytes, text] of byteSizes.cases as [number, string][]) {
      expect(formatBytes(bytes), `${bytes}`).toBe(text);
    }
  });

  it("says nothing sensible about nonsense", () => {
    expect(formatBytes(-1)).toBe("—");
    expect(formatBytes(Number.NaN)).toBe("—");
  });
});

describe("relativeTime", () => {
  const now = Date.UTC(2024, 5, 1, 12, 0, 0);
  const at = (secondsAgo: number) => now / 1000 - secondsAgo;

  it("counts seconds, minutes, hours, days, weeks, months and years", () => {
    expect(relativeTime(at(0), now)).toBe("just now");
    expect(relativeTime(at(1), now)).toBe("1 second ago");
    expect(relativeTime(at(59), now)).toBe("59 seconds ago");
    expect(relativeTime(at(60), now)).toBe("1 minute ago");
    expect(relativeTime(at(3 * 60 + 20), now)).toBe("3 minutes ago");
    expect(relativeTime(at(3600), now)).toBe("1 hour ago");
    expect(relativeTime(at(47 * 3600), now)).toBe("47 hours ago");
    expect(relativeTime(at(2 * 86400), now)).toBe("2 days ago");
    expect(relativeTime(at(20 * 86400), now)).toBe("2 weeks ago");
    expect(relativeTime(at(100 * 86400), now)).toBe("3 months ago");
    expect(relativeTime(at(3 * 365 * 86400), now)).toBe("3 years ago");
  });

  it("treats a time in the future as now", () => {
    expect(relativeTime(at(-30), now)).toBe("just now");
  });

  it("says unknown for an image with no creation time: 0, or Go's zero time (year 1)", () => {
    for (const none of [0, -62135596800]) {
      expect(relativeTime(none, now)).toBe("unknown");
      expect(formatDate(none)).toBe("No creation date was recorded for this image");
    }
    expect(formatDate(at(60))).not.toMatch(/recorded/);
  });
});

describe("sizeTitle", () => {
  it("says what the size counts, and Docker's own figure only where it differs", () => {
    expect(sizeTitle(5_030_000, 5_030_000)).toBe("What the image's files take unpacked, layers shared with other images included");
    expect(sizeTitle(5_030_000, 9_110_000)).toBe(
      "What the image's files take unpacked, layers shared with other images included.\n" +
        "Docker's own figure, 9.11 MB, also counts the compressed layers the files were unpacked from.",
    );
  });
});

describe("splitTag", () => {
  it("splits at the tag's colon, not a registry port", () => {
    expect(splitTag("alpine:3.20")).toEqual(["alpine", "3.20"]);
    expect(splitTag("localhost:5000/app:1.2")).toEqual(["localhost:5000/app", "1.2"]);
    expect(splitTag("localhost:5000/app")).toEqual(["localhost:5000/app", ""]);
  });
});

describe("daemon words", () => {
  it("names each source the way people know it", () => {
    expect(sourceLabel({ kind: "dockerHost" })).toBe("DOCKER_HOST");
    expect(sourceLabel({ kind: "context", name: "colima" })).toBe('Docker context "colima"');
    expect(sourceLabel({ kind: "wellKnown", name: "Docker Desktop (macOS)" })).toBe("Docker Desktop (macOS)");
    expect(sourceLabel({ kind: "setting" })).toBe("Saved address");
    expect(viaLabel({ kind: "dockerHost" })).toBe("via DOCKER_HOST");
    expect(viaLabel({ kind: "setting" })).toBe("via your saved address");
  });

  it("says what each endpoint answered", () => {
    expect(outcomeText({ kind: "answered", product: "Docker Engine", engine: "27.3.1", api: "1.47" })).toBe(
      "answered (Docker Engine 27.3.1, API 1.47)",
    );
    expect(outcomeText({ kind: "noSocket" })).toBe("no socket there");
    expect(outcomeText({ kind: "failed", reason: "permission denied", problem: null })).toBe("failed: permission denied");
    expect(outcomeText({ kind: "skipped" })).toBe("not tried");
  });
});

describe("plural and shortId", () => {
  it("agrees the noun with the count, and shortens an ID as docker images does", () => {
    expect(plural(1, "entry", "entries")).toBe("1 entry");
    expect(plural(0, "entry", "entries")).toBe("0 entries");
    expect(plural(2, "image was", "images were")).toBe("2 images were");
    expect(shortId("sha256:" + "ab".repeat(32))).toBe("abababababab");
  });
});

describe("countLabel", () => {
  it("counts, and says how many are hidden by a filter", () => {
    expect(countLabel(1, 1)).toBe("1 image");
    expect(countLabel(0, 0)).toBe("0 images");
    expect(countLabel(3, 12)).toBe("3 of 12 images");
  });
});

describe("percentages", () => {
  it("rounds a share to a whole percent, never claiming 0% or 100% falsely", () => {
    expect(formatShare(1_030_000_000, 2_100_000_000)).toBe("49%");
    expect(formatShare(1, 1000)).toBe("<1%");
    expect(formatShare(999_999, 1_000_000)).toBe("99%");
    expect(formatShare(5, 5)).toBe("100%");
    expect(formatShare(0, 5)).toBe("0%");
    expect(formatShare(5, 0)).toBe("0%");
  });
});

describe("routeText", () => {
  it("says how the daemon is reached, and when TLS goes unchecked", () => {
    expect(routeText({ kind: "socket", path: "/var/run/docker.sock" })).toBe("local socket");
    expect(routeText({ kind: "ssh", destination: "me@build-box" })).toBe("ssh to me@build-box");
    expect(routeText({ kind: "tls", address: "10.0.0.5:2376", verified: true, clientCertificate: true })).toBe("TLS to 10.0.0.5:2376");
    expect(routeText({ kind: "tls", address: "10.0.0.5:2376", verified: false, clientCertificate: false })).toBe(
      "TLS to 10.0.0.5:2376, certificate not verified",
    );
    expect(routeText({ kind: "tcp", address: "10.0.0.5:2375" })).toBe("TCP to 10.0.0.5:2375, unencrypted");
  });
});
