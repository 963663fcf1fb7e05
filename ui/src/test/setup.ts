import { resetMockBackend } from "../lib/ipc/mockBackend";
import { cleanup } from "@testing-library/svelte";
import { afterEach, vi } from "vitest";

afterEach(() => {
  cleanup();
  resetMockBackend();
  vi.useRealTimers();
});
