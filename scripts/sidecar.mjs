// Builds squashbox-cli for the bundle being made and puts it where `bundle.externalBin` in
// src-tauri/release.conf.json looks for it: target/sidecar/squashbox-cli-<target triple>[.exe].
//
// It runs as the release build's `beforeBuildCommand` (Node, because that command runs under
// cmd.exe on Windows), with the target the Tauri CLI names in TAURI_ENV_TARGET_TRIPLE. It
// builds only the CLI, but names the app package too (-p squashbox): cargo settles the features
// of shared crates over the packages named, so the core and its dependencies come out as the
// bundler's `cargo build` of the app wants them, and are built once, not twice.
//
// The externalBin lives in a config of its own because tauri-build fails any build whose
// config names a sidecar that does not exist yet, and a plain `cargo build` of a fresh clone
// has none.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const triple = process.env.TAURI_ENV_TARGET_TRIPLE;
if (!triple) {
  console.error("sidecar.mjs: TAURI_ENV_TARGET_TRIPLE is not set; run it through `tauri build`.");
  process.exit(1);
}
const release = process.env.TAURI_ENV_DEBUG !== "true";
const cargoArgs = ["build", "-p", "squashbox", "-p", "squashbox-cli", "--bin", "squashbox-cli"];
cargoArgs.push("--features", "squashbox/custom-protocol", "--target", triple);
if (release) cargoArgs.push("--release");
execFileSync("cargo", cargoArgs, { stdio: "inherit" });

const metadata = JSON.parse(execFileSync("cargo", ["metadata", "--format-version", "1", "--no-deps"]).toString());
const exe = triple.includes("windows") ? ".exe" : "";
const built = join(metadata.target_directory, triple, release ? "release" : "debug", `squashbox-cli${exe}`);
mkdirSync("target/sidecar", { recursive: true });
const staged = join("target", "sidecar", `squashbox-cli-${triple}${exe}`);
// tauri-build reruns (and the app recompiles) whenever the staged file changes: copy only a
// CLI that did change.
if (existsSync(staged) && readFileSync(staged).equals(readFileSync(built))) {
  console.log(`sidecar.mjs: ${staged} is up to date`);
} else {
  copyFileSync(built, staged);
  console.log(`sidecar.mjs: ${built} -> ${staged}`);
}
