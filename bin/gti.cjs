#!/usr/bin/env node
/**
 * `gti` (package.json "bin"): runs the TypeScript command line in src/cli/ in place, compiled by scripts/ts-hook.cjs
 * (the require hook `npm run synth` and `cdktf synth` use: esbuild per file, the JavaScript cached by content in
 * node_modules/.cache/gpu-training-infra/ts/, so a fresh clone needs no build step and nothing runs stale).
 * `GTI_DEBUG=1` turns source maps on for the whole run: the stack trace of an unexpected failure points at the
 * TypeScript lines. Exit code 0 ok, 1 failure, 2 usage error.
 */
"use strict";
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// A closed pipe (`gti runs | head`) ends the command quietly, as for any Unix tool.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error && error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const controller = new AbortController();
process.once("SIGINT", () => controller.abort());
process.once("SIGTERM", () => controller.abort());

Promise.resolve()
  .then(() => {
    require("../scripts/ts-hook.cjs");
    return require("../src/cli/main.ts");
  })
  .then((main) =>
    main.runCli(process.argv.slice(2), {
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      signal: controller.signal,
      interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    }),
  )
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`Error: unexpected failure: ${error && error.message}\n`);
      process.exitCode = 1;
    },
  );
