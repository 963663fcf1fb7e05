import { describe, expect, it, vi } from "vitest";
import type { AuditReport, IpcError } from "../ipc";
import { fakeImages, fakeReport, mockCommands, progressSender } from "../ipc/mockBackend";
import { Audits, KEPT_REPORTS } from "./audits.svelte";
import { deferred } from "../../test/deferred";

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const [IMAGE] = fakeImages(1);

describe("Audits", () => {
  it("audits once per image, however often it is opened, and keeps the report", async () => {
    const answer = deferred<AuditReport>();
    const audit = vi.fn((args: Record<string, unknown>) => {
      progressSender(args)({ stage: "reading", done: 5, total: 10 });
      return answer.promise;
    });
    mockCommands({ audit_image: audit });
    const audits = new Audits();

    audits.open(IMAGE);
    await settle();
    expect(audits.current?.phase).toBe("running");
    expect(audits.current?.progress).toEqual({ stage: "reading", done: 5, total: 10 });
    audits.close();
    audits.open(IMAGE);
    expect(audit).toHaveBeenCalledTimes(1);

    answer.resolve(fakeReport());
    await settle();
    expect(audits.current?.phase).toBe("done");
    expect(audits.current?.report?.layerBytes).toBe(2_100_000_000);
    expect(audits.hasReport(IMAGE.id)).toBe(true);

    audits.close();
    expect(audits.current).toBeNull();
    audits.open(IMAGE);
    expect(audits.current?.phase).toBe("done");
    expect(audit).toHaveBeenCalledTimes(1);
  });

  it("cancels, and audits afresh when the image is opened again", async () => {
    let stop!: () => void;
    const audit = vi.fn(
      () =>
        new Promise<AuditReport>((_, reject) => {
          stop = () => reject({ code: "cancelled", message: "cancelled", attempts: null } satisfies IpcError);
        }),
    );
    const cancel = vi.fn(() => {
      stop();
      return null;
    });
    mockCommands({ audit_image: audit, cancel_audit: cancel });
    const audits = new Audits();
    audits.open(IMAGE);
    await settle();

    const cancelling = audits.cancel(IMAGE.id);
    expect(audits.current?.cancelling).toBe(true);
    await cancelling;
    await settle();
    expect(cancel).toHaveBeenCalledWith({ imageId: IMAGE.id });
    expect(audits.current?.phase).toBe("cancelled");
    expect(audits.current?.cancelling).toBe(false);

    audits.close();
    audits.open(IMAGE);
    expect(audits.current?.phase).toBe("running");
    expect(audit).toHaveBeenCalledTimes(2);
  });

  it("brings the Cancel button back when cancelling fails", async () => {
    mockCommands({ audit_image: () => new Promise(() => {}) }); // no cancel_audit: refused
    const audits = new Audits();
    audits.open(IMAGE);
    await audits.cancel(IMAGE.id);
    expect(audits.current?.phase).toBe("running");
    expect(audits.current?.cancelling).toBe(false);
  });

  it("keeps a failure to show, with its error", async () => {
    mockCommands({
      audit_image: () => {
        throw { code: "malformedArchive", message: "layer 2 is not a tar", attempts: null } satisfies IpcError;
      },
    });
    const audits = new Audits();
    audits.open(IMAGE);
    await settle();
    expect(audits.current?.phase).toBe("failed");
    expect(audits.current?.error).toEqual({ code: "malformedArchive", message: "layer 2 is not a tar", attempts: null });
  });

  it("hands a lost daemon to its owner, closes the audit and forgets the run", async () => {
    const lost: IpcError = { code: "stream", message: "the daemon closed the image stream", attempts: null };
    mockCommands({
      audit_image: () => {
        throw lost;
      },
    });
    const onConnectionLost = vi.fn();
    const audits = new Audits({ onConnectionLost });
    audits.open(IMAGE);
    await settle();
    expect(onConnectionLost).toHaveBeenCalledWith(lost);
    expect(audits.image).toBeNull();
    expect(audits.hasReport(IMAGE.id)).toBe(false);
  });

  it(`keeps the ${KEPT_REPORTS} reports opened last, and always the one on screen`, async () => {
    const audit = vi.fn(() => fakeReport());
    mockCommands({ audit_image: audit });
    const images = fakeImages(KEPT_REPORTS + 1);
    const audits = new Audits();
    audits.open(images[0]);
    await settle();
    for (const image of images.slice(1, -1)) {
      audits.open(image);
      await settle();
    }
    // images[0] is one too many, unless it is looked at again first.
    audits.open(images[0]);
    audits.open(images.at(-1)!);
    await settle();
    expect(audits.hasReport(images[0].id)).toBe(true);
    expect(audits.hasReport(images[1].id)).toBe(false);
    expect(audits.hasReport(images.at(-1)!.id)).toBe(true);
    expect(audits.hasReport(images[2].id)).toBe(true);
    expect(audit).toHaveBeenCalledTimes(KEPT_REPORTS + 1);
  });
});
