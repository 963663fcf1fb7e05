import { resetMockBackend } from "../lib/ipc/mockBackend";
import { cleanup } from "@testing-library/svelte";
import { afterEach, vi } from "vitest";

afterEach(() => {
  cleanup();
  resetMockBackend();
  vi.useRealTimers();
  // What the window remembers between runs (the list's order) must not leak between tests.
  localStorage.clear();
});
