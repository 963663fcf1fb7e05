/// <reference types="vitest/config" />
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vite";

// Tauri loads the dev server from a fixed address (devUrl http://localhost:1420) and the
// built files from ui/dist. The CSP allows no inline script or style, so the build must
// emit every script and stylesheet as a file: component CSS is extracted (the plugin's
// default), the module-preload polyfill is not inlined, and no asset becomes a data: URI.
export default defineConfig(({ mode }) => ({
  plugins: [svelte()],
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
    watch: { ignored: ["**/src-tauri/**", "**/target/**"] },
  },
  envPrefix: ["VITE_", "TAURI_ENV_"],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // WebKitGTK / WKWebView / WebView2 of the platforms Tauri 2 supports.
    target: ["es2022", "safari16", "chrome105"],
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  // Svelte 5 resolves to its server build under Node unless told it runs in a browser.
  resolve: mode === "test" ? { conditions: ["browser"] } : {},
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
    setupFiles: ["src/test/setup.ts"],
    // The view tests render whole screens; on a loaded 2-core machine one took over 5 s.
    testTimeout: 30_000,
  },
}));
