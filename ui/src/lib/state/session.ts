/**
 * The app's state, wired together: a connect loads the images; an image refresh, an audit,
 * a squash, a prune or the daemon's own news that finds it gone sends the connection back to
 * looking for it; news of a changed image list refreshes it, and a new list refreshes the
 * prune preview.
 *
 *     const session = createSession();
 *     session.start();
 */
import * as ipc from "../ipc";
import { Audits } from "./audits.svelte";
import { Prune } from "./prune.svelte";
import { Clock } from "./clock.svelte";
import { Connection } from "./connection.svelte";
import { Images } from "./images.svelte";
import { Squashes } from "./squashes.svelte";

export interface Session {
  connection: Connection;
  images: Images;
  audits: Audits;
  squashes: Squashes;
  prune: Prune;
  clock: Clock;
  start(): void;
  dispose(): void;
}

// `docker build` sends a burst of events; one refresh after the burst is enough.
export const CHANGE_SETTLE_MS = 300;

export function createSession(): Session {
  const clock = new Clock();
  const images: Images = new Images({
    onConnectionLost: (err) => connection.lost(err),
    onLoaded: () => {
      clock.tick();
      prune.imagesLoaded(images.prunable);
    },
  });
  const audits = new Audits({ onConnectionLost: (err) => connection.lost(err) });
  const squashes = new Squashes({ onConnectionLost: (err) => connection.lost(err) }, audits);
  const prune: Prune = new Prune({ onConnectionLost: (err) => connection.lost(err) });
  const connection: Connection = new Connection({ onConnected: () => void images.refresh() });

  let settle: ReturnType<typeof setTimeout> | null = null;
  const unsubscribes: Promise<() => void>[] = [];

  function onImagesChanged(): void {
    if (settle !== null) clearTimeout(settle);
    settle = setTimeout(() => {
      settle = null;
      if (connection.phase === "connected") void images.refresh();
    }, CHANGE_SETTLE_MS);
  }

  return {
    connection,
    images,
    audits,
    squashes,
    prune,
    clock,
    start() {
      clock.start();
      unsubscribes.push(
        ipc.onImagesChanged(onImagesChanged),
        ipc.onDaemonLost((err) => {
          if (connection.phase === "connected") connection.lost(err);
        }),
      );
      connection.start();
    },
    dispose() {
      clock.stop();
      connection.dispose();
      if (settle !== null) clearTimeout(settle);
      for (const unsubscribe of unsubscribes.splice(0)) void unsubscribe.then((stop) => stop());
    },
  };
}
