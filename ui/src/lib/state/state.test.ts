import { describe, expect, it, vi } from "vitest";
import { fakeImages, fakeInfo, mockCommands, unavailable } from "../ipc/mockBackend";
import { Connection } from "./connection.svelte";
import { Images } from "./images.svelte";
import { deferred } from "../../test/deferred";

describe("Connection", () => {
  it("ignores a slow connect that a chosen address has overtaken", async () => {
    const slow = deferred<unknown>();
    const chosen = fakeInfo({ endpoint: { host: "tcp://10.0.0.1:2375", source: { kind: "setting" }, tls: null } });
    mockCommands({ connect: () => slow.promise, set_docker_host: () => chosen });
    const onConnected = vi.fn();
    const conn = new Connection({ onConnected });

    const first = conn.connect();
    await expect(conn.setHost("tcp://10.0.0.1:2375")).resolves.toBeNull();
    slow.reject(unavailable());
    await expect(first).resolves.toBe(false);

    expect(conn.phase).toBe("connected");
    expect(conn.info?.endpoint.host).toBe("tcp://10.0.0.1:2375");
    expect(conn.settings.dockerHost).toBe("tcp://10.0.0.1:2375");
    expect(onConnected).toHaveBeenCalledTimes(1);
    conn.dispose();
  });

  it("keeps a working connection when the new address is malformed", async () => {
    vi.useFakeTimers();
    const connect = vi.fn(() => fakeInfo());
    mockCommands({
      connect,
      set_docker_host: () => {
        throw { code: "invalidInput", message: "bad address", attempts: null };
      },
    });
    const conn = new Connection();
    await conn.connect();
    await expect(conn.setHost("nope")).resolves.toMatchObject({ code: "invalidInput" });
    expect(conn.phase).toBe("connected");
    expect(conn.settings.dockerHost).toBeNull();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(connect).toHaveBeenCalledTimes(1);
    conn.dispose();
  });

  it("stops retrying once disposed", async () => {
    vi.useFakeTimers();
    const connect = vi.fn(() => Promise.reject(unavailable()));
    mockCommands({ connect });
    const conn = new Connection();
    await conn.connect();
    expect(conn.retryIn).toBe(3);
    conn.dispose();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(connect).toHaveBeenCalledTimes(1);
  });
});

describe("Images", () => {
  it("keeps the newest refresh's answer when an older one lands later", async () => {
    const calls = [deferred<unknown>(), deferred<unknown>()];
    let n = 0;
    mockCommands({ list_images: () => calls[n++].promise, images_disk_bytes: () => 1 });
    const images = new Images();
    const older = images.refresh();
    const newer = images.refresh();
    calls[1].resolve(fakeImages(2));
    await newer;
    calls[0].resolve(fakeImages(5));
    await older;
    expect(images.all).toHaveLength(2);
    expect(images.loading).toBe(false);
  });

  it("drops a selection whose image is gone, and reports a lost daemon", async () => {
    const onConnectionLost = vi.fn();
    let list = fakeImages(3);
    mockCommands({
      list_images: () => {
        if (list.length === 0) throw { code: "stream", message: "connection reset", attempts: null };
        return list;
      },
      images_disk_bytes: () => 1,
    });
    const images = new Images({ onConnectionLost });
    await images.refresh();
    images.selected = list[2].id;
    list = list.slice(0, 2);
    await images.refresh();
    expect(images.selected).toBeNull();

    list = [];
    await images.refresh();
    expect(onConnectionLost).toHaveBeenCalledWith(expect.objectContaining({ code: "stream" }));
    expect(images.error).toBeNull();
  });
});
