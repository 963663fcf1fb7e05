import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";

// `npm run dev` in a plain browser has no Rust side; `?mock=ok|down|empty|many|remote` stands in
// for it so the UI can be looked at. Dropped from production builds.
async function start(): Promise<void> {
  if (import.meta.env.DEV && !("__TAURI_INTERNALS__" in window)) {
    const scenario = new URLSearchParams(location.search).get("mock");
    if (scenario !== null) {
      const { installMockBackend } = await import("./lib/ipc/mockBackend");
      installMockBackend(scenario);
    }
  }
  mount(App, { target: document.getElementById("app")! });
}

void start();
