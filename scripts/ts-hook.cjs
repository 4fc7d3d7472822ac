"use strict";
/**
 * The TypeScript runner of `npm run synth` and `cdktf synth` (`node --max-semi-space-size=4 -r ./scripts/ts-hook.cjs
 * main.ts`) and of `gti`
 * (bin/gti.cjs requires it before src/cli/main.ts): a CommonJS
 * require hook that compiles each project `.ts` file with esbuild (the compiler tsx uses, with tsx's options) and keeps
 * the result in `node_modules/.cache/gpu-training-infra/ts/`, keyed by a hash of the file's path and contents and of
 * the compiler's version and options. A changed file is compiled again on its next load; an unchanged one is read
 * from the cache, so a fresh clone needs no build step (the first synth fills the cache) and nothing can run stale.
 *
 * Why not tsx: tsx starts an ES module loader thread and compiles in it, and turns on source-mapped stack traces for
 * the whole process; cdktf records a stack trace for every token it creates, so that costs ~0.4 s per synth
 * (docs/performance.md). Source maps are still written (inline) and used where a location matters:
 * - `GTI_DEBUG=1` or `--debug` (the stack trace main.ts prints): source maps on for the whole run;
 * - the env files (`envs/*.ts`, or under `GTI_ENVS_DIR`): their errors are reported at their line (src/config/load.ts reads the stack), so
 *   source maps are on while they load.
 * Dynamic `import()` of a `.ts` file (the env files) goes through require, as in tsx. cdktf's `archiver` (ARCHIVE
 * assets only) is loaded on first use, and `knownToCompile` tells the env files' syntax check what compiled before.
 */
const { createHash, randomBytes } = require("node:crypto");
const { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } = require("node:fs");
const Module = require("node:module");
const { join, resolve, sep } = require("node:path");
const { fileURLToPath } = require("node:url");

const ROOT = resolve(__dirname, "..");
const CACHE = join(ROOT, "node_modules", ".cache", "gpu-training-infra", "ts");
/** The env files' folders: `envs/`, and `GTI_ENVS_DIR` when set (as src/config/load.ts reads it). */
const ENV_DIRS = [join(ROOT, "envs"), ...(process.env.GTI_ENVS_DIR ? [resolve(process.env.GTI_ENVS_DIR)] : [])].map((dir) => dir + sep);
const DEBUG = process.env.GTI_DEBUG === "1" || process.argv.includes("--debug");

const { compilerOptions } = JSON.parse(readFileSync(join(ROOT, "tsconfig.json"), "utf8"));
/** esbuild's transform options: tsx's (target this Node, keep names, inline map), as CommonJS, import() as require. */
const OPTIONS = {
  loader: "ts",
  format: "cjs",
  target: `node${process.versions.node}`,
  keepNames: true,
  sourcemap: "inline",
  supported: { "dynamic-import": false },
  tsconfigRaw: { compilerOptions },
};
const SALT = JSON.stringify({ hook: 1, esbuild: require("esbuild/package.json").version, OPTIONS });

let esbuild;

/** Where the compiled JavaScript of `filename` with contents `source` is kept. */
function cachePath(source, filename) {
  const key = createHash("sha256").update(SALT).update("\0").update(filename).update("\0").update(source).digest("hex");
  return join(CACHE, `${key}.js`);
}

/** The compiled JavaScript of `filename` (`source`), from the cache or compiled now (and cached). */
function compile(source, filename) {
  const cached = cachePath(source, filename);
  try {
    return readFileSync(cached, "utf8");
  } catch {
    // not cached yet
  }
  esbuild ??= require("esbuild");
  const { code } = esbuild.transformSync(source, { ...OPTIONS, sourcefile: filename });
  try {
    mkdirSync(CACHE, { recursive: true });
    const temp = join(CACHE, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
    writeFileSync(temp, code);
    renameSync(temp, cached); // atomic: concurrent synths write the same bytes
  } catch {
    // a read-only checkout still runs, compiling each time
  }
  return code;
}

if (DEBUG) process.setSourceMapsEnabled(true);

/**
 * Whether `source`, the contents of `filename` (absolute, real path), is known to compile: this hook compiled exactly
 * it before (only a successful compile is cached). src/config/file-issues.ts asks before it starts esbuild to look for
 * a syntax error in an env file: on every synth after the first, it need not (~60 ms of CPU and a process).
 */
function knownToCompile(filename, source) {
  return existsSync(cachePath(source, filename));
}
globalThis[Symbol.for("gpu-training-infra.ts-hook")] = { knownToCompile };

Module._extensions[".ts"] = function loadTypeScript(module, filename) {
  const code = compile(readFileSync(filename, "utf8"), filename);
  const mapped = !DEBUG && ENV_DIRS.some((dir) => filename.startsWith(dir));
  if (mapped) process.setSourceMapsEnabled(true);
  try {
    module._compile(code, filename);
  } catch (error) {
    if (mapped && error instanceof Error) void error.stack; // formatted now, while its frames map to the .ts lines
    throw error;
  } finally {
    if (mapped) process.setSourceMapsEnabled(false);
  }
};

// `import(pathToFileURL(file).href)` compiled to require: accept file: URLs as paths.
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveFileUrl(request, ...rest) {
  return resolveFilename.call(this, typeof request === "string" && request.startsWith("file:") ? fileURLToPath(request) : request, ...rest);
};

// cdktf's lib/private/fs.js requires `archiver` when cdktf loads (~100 modules, ~90 ms of a ~0.8 s synth), for
// ARCHIVE assets only, and zips those in a child process of its own (`node fs.js SRC DEST`, which requires archiver
// there); this project's assets are FILE assets anyway. So that one require gets a function that loads the real
// archiver on its first call: a synth never loads it, and an ARCHIVE asset still works
// (`__tests__/scripts/ts-hook.test.ts`).
const load = Module._load;
const CDKTF_FS = `${sep}node_modules${sep}cdktf${sep}lib${sep}private${sep}fs.js`;
Module._load = function loadLazily(request, parent, isMain) {
  if (request === "archiver" && parent?.filename?.endsWith(CDKTF_FS)) {
    let archiver;
    return function lazyArchiver(...args) {
      archiver ??= load.call(Module, request, parent, isMain);
      return archiver(...args);
    };
  }
  return load.call(this, request, parent, isMain);
};
