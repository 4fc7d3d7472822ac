/**
 * Synth-time Lambda bundling: one TypeScript entry file -> one directory holding a self-contained `index.js`, ready
 * for `new TerraformAsset(scope, id, { path: dir, type: AssetType.ARCHIVE })` (cdktf zips it into
 * `cdktf.out/stacks/<stack>/assets/...`, so plain `terraform apply` works from the synthesized directory).
 * The same build is also written as a ready, reproducible zip (`zip` of {@link buildLambdaBundle}) for a FILE asset: cdktf
 * then only copies it, instead of spawning a Node process per ARCHIVE asset and stack (~0.2 s each, measured).
 *
 * - esbuild, synchronous API (synth is synchronous): bundle, platform node, target node22, CommonJS, so the Lambda
 *   handler string is `index.handler`.
 * - The AWS SDK v3 clients are bundled in, not taken from the Lambda runtime: the function runs exactly the SDK
 *   version pinned in package.json and tested with aws-sdk-client-mock, whatever copy the runtime happens to ship.
 *   The SDK's ES module builds (`module` field) are preferred so unused commands are tree-shaken away.
 * - Whitespace and syntax are minified, identifiers are not (stack traces in CloudWatch stay readable without a
 *   source map; a map would quadruple the asset and hold machine paths).
 * - Deterministic: same sources -> byte-identical `index.js` (no timestamps, absolute paths or random names; esbuild
 *   runs relative to the project root). The file's mtime is pinned too, so even cdktf's zip (which records mtimes) is
 *   stable. cdktf names the asset after a hash of the directory's contents, so unchanged code means an unchanged plan.
 * - Cached in `node_modules/.cache/gpu-training-infra/lambda/<name>/`: a cold build takes ~0.5-1 s, which would eat
 *   the synth budget, so a build is reused while every input (each file esbuild read, including node_modules) is
 *   unchanged: same size and mtime, or else same content hash. Inside node_modules because that is where tools
 *   keep caches (ignored by git, wiped by `npm ci`, so a fresh clone simply builds once), not a temp dir: that would
 *   be shared between checkouts and cleaned by the OS at arbitrary times.
 * - Concurrent synths (test workers) are safe: files are written to a temp name and renamed into place, and
 *   concurrent builds of the same sources produce the same bytes.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { zipSync } from "fflate";
import { buildSync, type BuildFailure, type BuildOptions, type Message, version as esbuildVersion } from "esbuild";
import { GtiError } from "./errors";

/** The project root (this file lives in `src/`). */
export const PROJECT_ROOT = resolve(__dirname, "..");

/** Default cache root. */
export const DEFAULT_LAMBDA_CACHE_DIR = join(PROJECT_ROOT, "node_modules", ".cache", "gpu-training-infra", "lambda");

/** The bundled file's name inside the returned directory (Lambda handler `index.<export>`). */
export const BUNDLE_FILE = "index.js";

/** mtime given to every bundle (2000-01-01T00:00:00Z): cdktf's zip records it, so it must not be the build time. */
const FIXED_MTIME = new Date(Date.UTC(2000, 0, 1));

const NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** Bump when the output format changes (4: zips written with fflate), so older cached builds are rebuilt. */
const MANIFEST_VERSION = 4;

export interface BundleLambdaOptions {
  /** Absolute path of the handler's entry file (TypeScript or JavaScript), e.g. `.../runtime-guard/handler.ts`. */
  readonly entry: string;
  /** Bundle name, used as the cache directory name: lowercase letters, digits and `-`, e.g. `runtime-guard`. */
  readonly name: string;
  /** Cache root (default {@link DEFAULT_LAMBDA_CACHE_DIR}); tests point it at a temp directory. */
  readonly cacheDir?: string;
  /** Build even when the cache is valid (default false). */
  readonly force?: boolean;
}

export interface LambdaBundle {
  /** Absolute directory holding only `index.js`: the `path` of a `TerraformAsset` of type ARCHIVE. */
  readonly dir: string;
  /** Absolute path of `index.js`. */
  readonly file: string;
  /** SHA-256 (hex) of `index.js`. */
  readonly sha256: string;
  /** Size of `index.js` in bytes. */
  readonly bytes: number;
  /** What `index.js` still requires at run time (sorted): only Node built-ins, everything else is bundled in. */
  readonly externals: readonly string[];
  /** True when the cached build was reused. */
  readonly cached: boolean;
  /**
   * Absolute path of `<cache>/<name>.zip`: a deterministic zip holding only `index.js`, for
   * `new TerraformAsset(scope, id, { path: zip, type: AssetType.FILE })`. Cheaper at synth than an ARCHIVE asset of
   * {@link dir} (cdktf zips an ARCHIVE by spawning a Node process: ~0.2 s per asset per stack, measured).
   */
  readonly zip: string;
  /** SHA-256 (hex) of the zip. */
  readonly zipSha256: string;
  /** Time spent in this call, in milliseconds. */
  readonly ms: number;
}

/** A bundle could not be built: the message names the entry and lists esbuild's errors with file:line:column. */
export class LambdaBundleError extends GtiError {
  public override readonly name = "LambdaBundleError";
}

/**
 * Bundles `entry` (see the file comment): the directory holding `index.js` (an ARCHIVE asset's path), the
 * deterministic zip (a FILE asset's path), their hashes and sizes, whether the cache was used, the time taken.
 *
 * @example new TerraformAsset(this, "guard-code", { path: buildLambdaBundle({ entry, name: "runtime-guard" }).zip, type: AssetType.FILE })
 * @throws LambdaBundleError when the options are wrong or esbuild fails (e.g. a syntax error, an unresolved import)
 */
export function buildLambdaBundle(options: BundleLambdaOptions): LambdaBundle {
  const started = process.hrtime.bigint();
  const { entry, name } = options;
  if (!NAME.test(name)) {
    throw new LambdaBundleError(`Lambda bundle name "${name}" is invalid. Fix: use 1-64 lowercase letters, digits and "-", starting with a letter or digit.`);
  }
  if (!isAbsolute(entry)) {
    throw new LambdaBundleError(`Lambda "${name}": entry "${entry}" is not an absolute path. Fix: pass e.g. join(__dirname, "handler.ts").`);
  }
  if (!existsSync(entry) || !statSync(entry).isFile()) {
    throw new LambdaBundleError(`Lambda "${name}": entry file ${entry} does not exist. Fix: check the path.`);
  }

  const cacheRoot = options.cacheDir ?? DEFAULT_LAMBDA_CACHE_DIR;
  const dir = join(cacheRoot, name);
  const file = join(dir, BUNDLE_FILE);
  const manifestFile = join(cacheRoot, `${name}.manifest.json`);
  const zip = join(cacheRoot, `${name}.zip`);
  const buildOptions = esbuildOptions(entry, file);
  // The project root is part of the key: esbuild writes each module's path, relative to the working directory, into the
  // bundle, so a build made in another checkout that links the same node_modules is valid input for input but not the
  // same bytes (seen when a second worktree symlinked this one's node_modules and shared its cache).
  const key = sha256(JSON.stringify({ manifest: MANIFEST_VERSION, esbuild: esbuildVersion, root: PROJECT_ROOT, entry: displayPath(entry), buildOptions: { ...buildOptions, entryPoints: undefined, outfile: undefined, absWorkingDir: undefined, nodePaths: undefined } }));

  if (!options.force) {
    const hit = validCache(manifestFile, key, file, zip);
    if (hit) {
      return { dir, file, sha256: hit.output, bytes: hit.bytes, externals: hit.externals, zip, zipSha256: hit.zip, cached: true, ms: elapsed(started) };
    }
  }

  const result = runEsbuild(name, entry, buildOptions);
  const output = result.outputFiles?.find((f) => f.path === file);
  if (!output) throw new LambdaBundleError(`Lambda "${name}": esbuild produced no ${BUNDLE_FILE} (internal error).`);
  // The only output (no source map); its key is relative to the working directory, so it is not looked up by name.
  const externals = [
    ...new Set(Object.values(result.metafile?.outputs ?? {}).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path))),
  ].sort();
  const inputs: Record<string, InputStamp> = {};
  for (const input of Object.keys(result.metafile?.inputs ?? {})) {
    const path = resolve(PROJECT_ROOT, input);
    if (existsSync(path)) inputs[relative(PROJECT_ROOT, path)] = stampOf(path);
  }

  mkdirSync(dir, { recursive: true });
  for (const other of readdirSync(dir)) {
    if (other !== BUNDLE_FILE) rmSync(join(dir, other), { recursive: true, force: true });
  }
  const outputHash = sha256(output.contents);
  if (!existsSync(file) || sha256(readFileSync(file)) !== outputHash) writeAtomically(cacheRoot, file, output.contents);
  utimesSync(file, FIXED_MTIME, FIXED_MTIME);
  const zipContents = zipOneFile(BUNDLE_FILE, output.contents, FIXED_MTIME);
  writeAtomically(cacheRoot, zip, zipContents);
  const zipHash = sha256(zipContents);
  const manifest: Manifest = { version: MANIFEST_VERSION, key, output: outputHash, bytes: output.contents.length, zip: zipHash, externals, inputs };
  writeAtomically(cacheRoot, manifestFile, `${JSON.stringify(manifest)}\n`);
  return { dir, file, sha256: outputHash, bytes: output.contents.length, externals, zip, zipSha256: zipHash, cached: false, ms: elapsed(started) };
}

function esbuildOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    // ES module builds first: the SDK's CommonJS builds are single files esbuild cannot tree-shake (3.5 MB vs 1.4 MB).
    mainFields: ["module", "main"],
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: false,
    legalComments: "eof",
    sourcemap: false,
    // Paths in esbuild's output and errors are relative to the project root, whatever the current directory.
    absWorkingDir: PROJECT_ROOT,
    // Entries outside the project (tests) still resolve packages from the project's node_modules.
    nodePaths: [join(PROJECT_ROOT, "node_modules")],
    write: false,
    metafile: true,
    logLevel: "silent",
  };
}

function runEsbuild(name: string, entry: string, options: BuildOptions): ReturnType<typeof buildSync> {
  try {
    return buildSync(options);
  } catch (error) {
    const failure = error as Partial<BuildFailure>;
    if (!Array.isArray(failure.errors)) throw error;
    const errors = failure.errors.map(formatMessage);
    throw new LambdaBundleError(
      [
        `Could not bundle Lambda "${name}" from ${displayPath(entry)} (esbuild ${esbuildVersion}), ${errors.length} error${errors.length === 1 ? "" : "s"}:`,
        ...errors,
        "Fix: correct the source above (`npx tsc --noEmit` also shows type errors) and synthesize again.",
      ].join("\n"),
    );
  }
}

function formatMessage(message: Message): string {
  const where = message.location;
  if (!where) return `  ${message.text}`;
  const file = displayPath(resolve(PROJECT_ROOT, where.file));
  const lines = [`  ${file}:${where.line}:${where.column + 1}: ${message.text}`];
  if (where.lineText) lines.push(`      ${where.lineText}`, `      ${" ".repeat(where.column)}^`);
  return lines.join("\n");
}

/** A path relative to the project root when inside it, else absolute. */
function displayPath(path: string): string {
  const rel = relative(PROJECT_ROOT, path);
  return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

interface InputStamp {
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
}

interface Manifest {
  readonly version: number;
  /** Hash of esbuild's version, the options and the entry. */
  readonly key: string;
  /** SHA-256 of index.js. */
  readonly output: string;
  readonly bytes: number;
  /** SHA-256 of the zip. */
  readonly zip: string;
  readonly externals: readonly string[];
  /** Every input file (relative to the project root) with its size, mtime and content hash at build time. */
  readonly inputs: Readonly<Record<string, InputStamp>>;
}

function stampOf(path: string): InputStamp {
  const stat = statSync(path);
  return { size: stat.size, mtimeMs: stat.mtimeMs, sha256: sha256(readFileSync(path)) };
}

/** The manifest when the cached bundle is still valid for these options and inputs. */
function validCache(manifestFile: string, key: string, file: string, zip: string): Manifest | undefined {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Manifest;
  } catch {
    return undefined;
  }
  if (manifest.version !== MANIFEST_VERSION || manifest.key !== key) return undefined;
  const refreshed: Record<string, InputStamp> = {};
  let touched = false;
  try {
    const out = statSync(file);
    if (out.size !== manifest.bytes || sha256(readFileSync(file)) !== manifest.output) return undefined;
    if (sha256(readFileSync(zip)) !== manifest.zip) return undefined;
    if (out.mtimeMs !== FIXED_MTIME.getTime()) utimesSync(file, FIXED_MTIME, FIXED_MTIME);
    for (const [input, stamp] of Object.entries(manifest.inputs)) {
      const path = resolve(PROJECT_ROOT, input);
      const stat = statSync(path);
      if (stat.size !== stamp.size) return undefined;
      // Same size and mtime: unchanged. Otherwise (e.g. a fresh checkout of the same content) compare contents.
      if (stat.mtimeMs !== stamp.mtimeMs) {
        if (sha256(readFileSync(path)) !== stamp.sha256) return undefined;
        touched = true;
      }
      refreshed[input] = { ...stamp, mtimeMs: stat.mtimeMs };
    }
  } catch {
    return undefined; // an input or the output disappeared
  }
  if (!touched) return manifest;
  // Same contents, new mtimes (a checkout, a touch): record them so the next check needs no hashing.
  const updated: Manifest = { ...manifest, inputs: refreshed };
  writeAtomically(dirname(manifestFile), manifestFile, `${JSON.stringify(updated)}\n`);
  return updated;
}

/** Writes via a temp file in `tempDir` (outside the bundle directory, so it never shows up in it) and a rename. */
function writeAtomically(tempDir: string, target: string, contents: Uint8Array | string): void {
  mkdirSync(tempDir, { recursive: true });
  mkdirSync(dirname(target), { recursive: true });
  const temp = join(tempDir, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
  writeFileSync(temp, contents);
  renameSync(temp, target);
}

/**
 * A zip archive of one file, byte-for-byte reproducible on any machine, written with fflate (pure JavaScript, so the
 * compressed bytes do not depend on the zlib build of the Node version either): fixed timestamp, fixed attributes
 * (regular file, 0644, made on Unix), deflate level 9, no extra fields or comments.
 *
 * The zip format stores an MS-DOS date and time with no time zone, and fflate fills it from the local-time getters
 * of the Date it is given. To get the same bytes in every time zone, it is given a Date whose local fields are
 * `mtime`'s UTC fields (2000-01-01 00:00:00 stays 2000-01-01 00:00:00 whatever TZ says).
 */
export function zipOneFile(name: string, data: Uint8Array, mtime: Date): Buffer {
  const dosTime = new Date(
    mtime.getUTCFullYear(),
    mtime.getUTCMonth(),
    mtime.getUTCDate(),
    mtime.getUTCHours(),
    mtime.getUTCMinutes(),
    mtime.getUTCSeconds(),
  );
  const zip = zipSync(
    // os 3 = Unix, so unzip tools read the mode from the high 16 bits of the external attributes.
    { [name]: [data, { level: 9, mtime: dosTime, os: 3, attrs: (0o100644 << 16) >>> 0 }] },
  );
  return Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
}

function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function elapsed(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}
