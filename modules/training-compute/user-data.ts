/**
 * The training instance's user data and the runtime bundle it fetches: the on-instance runtime (`runtime/`) travels
 * as an S3 object, the user data only carries the configuration and the script that fetches it. Rendered at synth.
 *
 * Contract with `runtime/` (README, "On-instance runtime"): every file under `runtime/` except `*.md` is written to
 * `/opt/gpu-training/<same relative path>` (mode 0755 under `bin/` and for `*.sh`, 0644 otherwise), the configuration
 * is written to `/etc/gpu-training/runtime.env` as shell `KEY='value'` lines, then `/opt/gpu-training/install.sh`
 * runs as root (once per instance; the units it enables run on every boot).
 *
 * **How.** {@link renderRuntimeBundle} turns the files into one bash script (here-documents; base64 for a file that
 * cannot be one), written to a content-addressed file ({@link writeRuntimeBundle}) that the compute module uploads as
 * a file asset to `runtime/<sha256>.sh` of the outputs bucket (`aws_s3_object.compute_runtime`, `source`: plans show
 * its path, not 65 KB of scripts; the instance role may read exactly that key). The user data
 * ({@link renderUserData}) is a cloud-config with two files, `runtime.env` and `fetch-runtime.sh`, and one command:
 * `fetch-runtime.sh <s3 uri> <sha256>` downloads the bundle (retried), refuses it unless its SHA-256 is the one in
 * the user data, unpacks it and runs `install.sh`. So the runtime can grow without meeting EC2's 16 KB user data
 * limit, and the instance runs exactly what was synthesized.
 *
 * **Escaping and size.** The bundle is a file: no Terraform template, uploaded as is (the CloudWatch agent
 * configuration's `${aws:InstanceId}` reaches the instance as written); the terraform test checks that the uploaded
 * file hashes to the key and to the hash in the user data. The fetch script and `runtime.env` are in the user data, a
 * Terraform string: their template sequences `${` and `%{` are escaped as `$${` and `%%{`. The user data is gzipped (`base64gzip`; cloud-init detects gzip) and measured at synth with every
 * interpolation at its longest ({@link estimateUserDataSize}, budget {@link USER_DATA_BUDGET_BYTES}).
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, posix, relative, sep } from "node:path";
import { gzipSync } from "node:zlib";
import { GtiError } from "../../src/errors";

/** The project's `runtime/` folder. */
export const RUNTIME_DIR = join(__dirname, "..", "..", "runtime");

/** Where the runtime is installed on the instance. */
export const RUNTIME_INSTALL_DIR = "/opt/gpu-training";

/** The runtime's configuration file on the instance. */
export const RUNTIME_CONFIG_FILE = "/etc/gpu-training/runtime.env";

/** The script the fetch script runs, as root, once the bundle is unpacked. */
export const RUNTIME_INSTALL_SCRIPT = `${RUNTIME_INSTALL_DIR}/install.sh`;

/** EC2's limit on user data, in bytes, before base64 encoding. */
export const USER_DATA_LIMIT_BYTES = 16_384;

/**
 * What this module allows the gzipped user data to reach at synth: 90% of the limit. The rest absorbs the difference
 * between Node's gzip (used to measure) and Terraform's `base64gzip` (Go's), which compress a few percent apart.
 */
export const USER_DATA_BUDGET_BYTES = Math.floor(USER_DATA_LIMIT_BYTES * 0.9);

/** One file of the runtime, as installed. */
export interface RuntimeFile {
  /** Path relative to `runtime/`, with `/` separators (e.g. `bin/gti-launcher`). */
  readonly path: string;
  /** The file's bytes. */
  readonly content: Buffer;
  /** Mode on the instance: `0755` under `bin/` and for `*.sh`, `0644` otherwise. */
  readonly permissions: "0755" | "0644";
}

/** The mode a runtime file gets on the instance. */
export function runtimeFilePermissions(path: string): "0755" | "0644" {
  return path.startsWith("bin/") || path.endsWith(".sh") ? "0755" : "0644";
}

/**
 * Every file under `dir` except `*.md` (documentation stays in the repository) and `__pycache__/`, sorted by path.
 * Symbolic links and other special files are refused: the instance gets regular files only.
 *
 * @throws GtiError when the folder is missing, empty, holds a special file, or has no `install.sh`
 */
export function readRuntimeFiles(dir: string = RUNTIME_DIR): RuntimeFile[] {
  let entries: string[];
  try {
    entries = walk(dir, dir);
  } catch (error) {
    throw new GtiError(
      `Cannot read the instance runtime in ${dir}: ${(error as Error).message}. Fix: restore the runtime/ folder (the user data installs it).`,
    );
  }
  const files = entries
    .filter((path) => !path.toLowerCase().endsWith(".md"))
    .sort()
    .map((path) => ({
      path,
      content: installedContent(path, readFileSync(join(dir, ...path.split("/")))),
      permissions: runtimeFilePermissions(path),
    }));
  if (!files.some((file) => file.path === "install.sh")) {
    throw new GtiError(
      `The instance runtime in ${dir} has no install.sh (found: ${files.map((f) => f.path).join(", ") || "nothing"}). ` +
        "Fix: restore runtime/install.sh; the user data runs it to install the runtime.",
    );
  }
  return files;
}

function walk(root: string, dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "__pycache__") continue; // Python's byte-code cache (a test importing lib/progress.py): never installed
    const full = join(dir, name);
    const stat = lstatSync(full);
    if (stat.isDirectory()) {
      found.push(...walk(root, full));
    } else if (stat.isFile()) {
      found.push(relative(root, full).split(sep).join(posix.sep));
    } else {
      throw new Error(`${full} is not a regular file or folder (symbolic link or special file)`);
    }
  }
  return found;
}

/**
 * What a runtime file becomes on the instance. Shell scripts (under `bin/`, or `*.sh`: the files that get mode 0755)
 * lose their comment lines and indentation, which are for the repository's readers (a third of the bundle; the fetch
 * script travels in the size-limited user data): see {@link stripShell}. Other files are unchanged.
 */
export function installedContent(path: string, content: Buffer): Buffer {
  if (runtimeFilePermissions(path) !== "0755") return content;
  const text = content.toString("utf8");
  return Buffer.from(text, "utf8").equals(content) ? Buffer.from(stripShell(text), "utf8") : content;
}

/**
 * A bash script without its comments, blank lines and indentation, the first line (the shebang) kept. Only lines
 * that begin outside a quoted string are touched (a scan of bash quoting: `'...'`, `"..."`, backslash escapes, comments):
 * a multi-line string (an awk program) reaches the instance as written. Bash parses the result into the same
 * functions and commands: the runtime tests compare `declare -f` of both.
 */
export function stripShell(text: string): string {
  let quote: "'" | '"' | "" = "";
  const out: string[] = [];
  text.split("\n").forEach((line, index) => {
    const outside = quote === "";
    let end = line.length;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quote === "'") {
        if (c === "'") quote = "";
      } else if (c === "\\") {
        i++;
      } else if (quote === '"') {
        if (c === '"') quote = "";
      } else if (c === "'" || c === '"') {
        quote = c;
      } else if (c === "#" && (i === 0 || /\s/.test(line[i - 1] ?? ""))) {
        end = i; // a comment: the rest of the line
        break;
      }
    }
    if (index === 0 || !outside) out.push(line);
    else if (line.slice(0, end).trim() !== "") out.push(line.slice(0, end).trim());
  });
  return out.join("\n");
}

/** One line of the runtime configuration file: `KEY='value'`. */
export interface RuntimeEnvEntry {
  /** The variable, e.g. `GTI_DATA_BUCKET`. */
  readonly key: string;
  /**
   * The value: a literal, or a Terraform interpolation (`${aws_s3_bucket.storage_data.bucket}`, a cdktf token).
   * Literals are checked here; interpolated values must never hold a single quote (their sources are validated:
   * bucket names, ARNs, validated variables).
   */
  readonly value: string;
  /** The longest the value can be once Terraform interpolates it (for the size budget). Literals: their length. */
  readonly maxLength?: number;
}

/** How a runtime file is carried in the bundle: a here-document, or base64 when it cannot be one. */
export type FileEncoding = "text" | "base64";

/** Where the runtime bundle lives: `runtime/<sha256>.sh` in the outputs bucket (the storage layout). */
export const RUNTIME_BUNDLE_PREFIX = "runtime/";

/** The script the user data runs: fetches, checks and unpacks the bundle, then runs install.sh. In `runtime/`. */
export const RUNTIME_FETCH_SCRIPT = "fetch-runtime.sh";

/**
 * The largest bundle this module builds. S3 Lifecycle transitions skip objects under 128 KiB by default
 * (`transition_default_minimum_object_size = "all_storage_classes_128K"`), so the bundle stays in S3 Standard in a
 * bucket whose rules move older objects to Glacier (from where an instance could not read it at boot).
 */
export const RUNTIME_BUNDLE_LIMIT_BYTES = 128 * 1024 - 1;

/** The here-document delimiter of the bundle; a file holding it as a line is carried as base64 instead. */
export const BUNDLE_DELIMITER = "GTI_RUNTIME_EOF";

/** The runtime as one self-extracting bash script (the S3 object the instance fetches at first boot). */
export interface RuntimeBundle {
  /** The script as it reaches S3 and the instance: `bash <bundle> <dir>` writes every file under `<dir>`. */
  readonly text: string;
  /** SHA-256 (hex) of {@link text}: in the object key and in the user data, checked by the instance. */
  readonly sha256: string;
  /** The object key, `runtime/<sha256>.sh`. */
  readonly key: string;
  /** Size of {@link text} in bytes. */
  readonly bytes: number;
  /** How each runtime file is carried, by path. */
  readonly encodings: ReadonlyMap<string, FileEncoding>;
}

/**
 * The runtime's files as one bash script: `bash bundle DIR` writes each file to `DIR/<path>` with its bytes and mode.
 * Text files are quoted here-documents (no expansion; a file without a final line feed is truncated to its exact
 * size after); a file that is not UTF-8, holds a NUL or has a line equal to {@link BUNDLE_DELIMITER} is base64.
 *
 * @throws GtiError when the bundle would exceed {@link RUNTIME_BUNDLE_LIMIT_BYTES}
 */
export function renderRuntimeBundle(files: readonly RuntimeFile[]): RuntimeBundle {
  const encodings = new Map<string, FileEncoding>();
  const parts = [
    "#!/usr/bin/env bash",
    `# gpu-training runtime: ${files.length} files of runtime/, written under the folder given (run by ${RUNTIME_FETCH_SCRIPT}).`,
    "set -euo pipefail",
    'D=${1:?usage: bash runtime-bundle DIR}',
    'f() { mkdir -p "$(dirname "$D/$1")" && cat >"$D/$1" && chmod "$2" "$D/$1"; }',
    'b() { mkdir -p "$(dirname "$D/$1")" && base64 -d >"$D/$1" && chmod "$2" "$D/$1"; }',
  ];
  for (const file of files) {
    if (!/^[A-Za-z0-9._/-]+$/.test(file.path)) {
      throw new GtiError(`The runtime file "${file.path}" has a name the bundle cannot carry. Fix: use letters, digits, ".", "_", "-" and "/" only.`);
    }
    const text = file.content.toString("utf8");
    const asText =
      Buffer.from(text, "utf8").equals(file.content) && !text.includes("\0") && !text.split("\n").includes(BUNDLE_DELIMITER);
    encodings.set(file.path, asText ? "text" : "base64");
    if (asText) {
      const body = text === "" || text.endsWith("\n") ? text : `${text}\n`;
      parts.push(`f '${file.path}' ${file.permissions} <<'${BUNDLE_DELIMITER}'\n${body}${BUNDLE_DELIMITER}`);
      if (body !== text) parts.push(`truncate -s ${file.content.length} "$D/${file.path}"`);
    } else {
      const lines = file.content.toString("base64").match(/.{1,76}/g) ?? [];
      parts.push(`b '${file.path}' ${file.permissions} <<'${BUNDLE_DELIMITER}'\n${lines.map((l) => `${l}\n`).join("")}${BUNDLE_DELIMITER}`);
    }
  }
  const bundleText = `${parts.join("\n")}\n`;
  const bytes = Buffer.byteLength(bundleText, "utf8");
  if (bytes > RUNTIME_BUNDLE_LIMIT_BYTES) {
    throw new GtiError(
      `The runtime bundle would be ${bytes} bytes, over ${RUNTIME_BUNDLE_LIMIT_BYTES} (S3 Lifecycle rules may move larger objects to Glacier, ` +
        `where an instance cannot read them at boot). Largest files: ${largestFiles(files)}. Fix: shrink the runtime/ folder.`,
    );
  }
  const sha256 = createHash("sha256").update(bundleText, "utf8").digest("hex");
  return { text: bundleText, sha256, key: `${RUNTIME_BUNDLE_PREFIX}${sha256}.sh`, bytes, encodings };
}

/** Where bundles are written for their file asset (content-addressed, like the guard Lambda's build cache). */
export const RUNTIME_BUNDLE_CACHE_DIR = join(__dirname, "..", "..", "node_modules", ".cache", "gpu-training-infra", "runtime");

/**
 * The bundle as a file, `<dir>/<sha256>.sh` (written once: the name is the content's hash), for a `TerraformAsset`.
 * Returns its path.
 */
export function writeRuntimeBundle(bundle: RuntimeBundle, dir: string = RUNTIME_BUNDLE_CACHE_DIR): string {
  const path = join(dir, `${bundle.sha256}.sh`);
  if (!existsSync(path) || createHash("sha256").update(readFileSync(path)).digest("hex") !== bundle.sha256) {
    mkdirSync(dir, { recursive: true });
    const temp = `${path}.${process.pid}.tmp`;
    writeFileSync(temp, bundle.text);
    renameSync(temp, path);
  }
  return path;
}

/** Where the instance fetches the bundle from: an S3 URI (may hold Terraform interpolations) and the bundle's hash. */
export interface BundleReference {
  /** `s3://<bucket>/runtime/<sha256>.sh`: a Terraform template (interpolations allowed, no quote or space). */
  readonly uri: string;
  /** The bundle's SHA-256 (hex). */
  readonly sha256: string;
  /** Number of runtime files (for the header comment). */
  readonly files: number;
}

/** A rendered user data: the Terraform template. */
export interface RenderedUserData {
  /** The cloud-config, as a Terraform template string (escaped; interpolations in the configuration and the URI). */
  readonly template: string;
}

/** Escapes Terraform template sequences so that the text reaches the instance exactly as written. */
export function escapeTemplate(text: string): string {
  // Replacement functions: in a replacement string, "$$" would mean a single "$".
  return text.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{");
}

/** What Terraform makes of {@link escapeTemplate}'s output (for tests and the size estimate). */
export function unescapeTemplate(text: string): string {
  return text.replace(/\$\$\{/g, () => "${").replace(/%%\{/g, () => "%{");
}

/**
 * Renders the cloud-config (a Terraform template string): the configuration file, the fetch script, and the command
 * that runs it with the bundle's URI and hash.
 *
 * @param fetchScript the runtime's {@link RUNTIME_FETCH_SCRIPT} (as installed)
 * @param bundle where the bundle is and its hash
 * @param env the configuration file's lines, in order
 * @param header comment lines for the top of the cloud-config (e.g. which env and mode)
 * @throws GtiError when a key is malformed or a literal value holds a single quote or a newline
 */
export function renderUserData(
  fetchScript: RuntimeFile,
  bundle: BundleReference,
  env: readonly RuntimeEnvEntry[],
  header: readonly string[] = [],
): RenderedUserData {
  if (!/^[0-9a-f]{64}$/.test(bundle.sha256) || /[\s"'\\]/.test(bundle.uri)) {
    throw new GtiError(`Invalid runtime bundle reference ${JSON.stringify(bundle)}. Fix: render it with renderRuntimeBundle.`);
  }
  const envFile = renderEnvFile(env);
  const text = literalText(fetchScript.content);
  const lines = [
    "#cloud-config",
    ...header.map((line) => `# ${escapeTemplate(line)}`),
    `# runtime: ${bundle.files} files from runtime/, in ${bundle.uri} (SHA-256 ${bundle.sha256}), fetched and installed by ${RUNTIME_FETCH_SCRIPT}`,
    "write_files:",
  ];
  const template = [
    `${lines.join("\n")}\n`,
    // The configuration file: plain text, with Terraform interpolations in the values.
    `  - path: ${RUNTIME_CONFIG_FILE}\n    owner: root:root\n    permissions: "0644"\n    content: |\n`,
    envFile
      .split("\n")
      .map((line) => `      ${line}`)
      .join("\n"),
    "\n",
    escapeTemplate(writeFileEntry(`${RUNTIME_INSTALL_DIR}/${RUNTIME_FETCH_SCRIPT}`, "0755", fetchScript.content, text)),
    "runcmd:\n",
    `  - ["${RUNTIME_INSTALL_DIR}/${RUNTIME_FETCH_SCRIPT}", "${bundle.uri}", "${bundle.sha256}"]\n`,
  ].join("");
  return { template };
}

const ENV_KEY = /^[A-Z_][A-Z0-9_]*$/;

/** The configuration file's text (a template: literal values escaped, interpolations kept). */
export function renderEnvFile(env: readonly RuntimeEnvEntry[]): string {
  const problems: string[] = [];
  const seen = new Set<string>();
  const lines = env.map(({ key, value }) => {
    if (!ENV_KEY.test(key)) problems.push(`"${key}" is not a shell variable name`);
    if (seen.has(key)) problems.push(`${key} is set twice`);
    seen.add(key);
    const literal = !value.includes("${");
    if (literal && (value.includes("'") || value.includes("\n") || /[\x00-\x1f\x7f]/.test(value))) {
      problems.push(`${key} = ${JSON.stringify(value)} holds a quote, newline or control character`);
    }
    return `${key}='${literal ? escapeTemplate(value) : value}'`;
  });
  if (problems.length > 0) {
    throw new GtiError(`Invalid runtime configuration: ${problems.join("; ")}. Fix: correct the compute settings.`);
  }
  return `# Written by the training-compute module (Terraform); read by ${RUNTIME_INSTALL_DIR}/lib/common.sh.\n${lines.join("\n")}`;
}

/** One `write_files` entry. `text` is the content as a string when it can be a YAML literal block. */
function writeFileEntry(path: string, permissions: string, content: Buffer, text: string | undefined): string {
  const head = `  - path: ${path}\n    owner: root:root\n    permissions: "${permissions}"\n`;
  if (text === undefined) {
    return `${head}    encoding: gz+b64\n    content: ${gzipSync(content, { level: 9 }).toString("base64")}\n`;
  }
  return `${head}    content: ${literalBlock(text, "      ")}`;
}

/**
 * The file's text when it can be a YAML literal block and reach the instance byte for byte: valid UTF-8, and only
 * tabs, line feeds and printable characters (YAML normalizes carriage returns and forbids most control characters),
 * and not ending with a line of blanks.
 */
export function literalText(content: Buffer): string | undefined {
  const text = content.toString("utf8");
  if (!Buffer.from(text, "utf8").equals(content)) return undefined;
  // Astral characters (emoji, ...) are fine; in the BMP: tab, line feed, printable ASCII and the printable rest, less
  // NEL, U+2028/U+2029 (YAML 1.1 line breaks), the byte order mark and the non-characters U+FFFE/U+FFFF.
  const bmp = text.replace(/[\u{10000}-\u{10ffff}]/gu, "");
  if (/[^\t\n\x20-\x7e\u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]/u.test(bmp)) return undefined;
  // A last line of only blanks reads as trailing empty lines to some YAML parsers: not worth the ambiguity.
  const body = text.replace(/\n+$/, "");
  if (/(^|\n)[ \t]+$/.test(body)) return undefined;
  return text;
}

/**
 * A YAML literal block scalar for `text`, its lines indented by `indent` (the entry's keys sit two spaces less
 * deep, hence the explicit indentation indicator 2: content starting with spaces is read right), with the chomping
 * indicator that keeps the trailing line feeds exactly: none (clip) for one, `-` (strip) for none, `+` (keep) for more.
 */
export function literalBlock(text: string, indent: string): string {
  const trailing = /\n*$/.exec(text)?.[0].length ?? 0;
  const body = text.slice(0, text.length - trailing);
  // Only line feeds (or nothing): no content line to hang them on, so keep them all as empty lines.
  if (body === "") return trailing === 0 ? "|2-\n" : `|2+\n${"\n".repeat(trailing)}`;
  const chomp = trailing === 1 ? "" : trailing === 0 ? "-" : "+";
  const lines = body === "" ? [] : body.split("\n").map((line) => (line === "" ? "" : `${indent}${line}`));
  return `|2${chomp}\n${lines.map((line) => `${line}\n`).join("")}${"\n".repeat(Math.max(0, trailing - 1))}`;
}

/**
 * The gzipped size (bytes) of the user data once Terraform has evaluated it, with every interpolated value at its
 * longest (an incompressible stand-in of `maxLength` characters; 256 for one without, and for the bundle's URI). This
 * is what EC2 counts against its 16 KB.
 */
export function estimateUserDataSize(rendered: RenderedUserData, env: readonly RuntimeEnvEntry[]): number {
  let seed = 0x9e3779b9;
  const standIn = (length: number): string => {
    let text = "";
    for (let i = 0; i < length; i++) {
      // xorshift32: deterministic, and random enough that gzip cannot shrink the stand-in below its entropy.
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      seed >>>= 0;
      text += String.fromCharCode(97 + (seed % 26));
    }
    return text;
  };
  let text = rendered.template;
  for (const entry of env) {
    if (!entry.value.includes("${")) continue;
    text = text.replace(`${entry.key}='${entry.value}'`, () => `${entry.key}='${standIn(entry.maxLength ?? 256)}'`);
  }
  // Any other interpolation (the bundle's URI): 256 characters. Escaped sequences ($${, %%{) are no interpolations.
  text = text.replace(/(^|[^$])\$\{[^}]*\}/g, (_, before: string) => `${before}${standIn(256)}`);
  return gzipSync(Buffer.from(unescapeTemplate(text), "utf8")).length;
}

/** `path (N bytes)` of the three largest files. */
function largestFiles(files: readonly RuntimeFile[]): string {
  return [...files]
    .sort((a, b) => b.content.length - a.content.length)
    .slice(0, 3)
    .map((f) => `${f.path} (${f.content.length} bytes)`)
    .join(", ");
}

/**
 * @throws GtiError naming the size and the budget when the user data (the configuration and the fetch script: the
 *   runtime itself is in S3) is over budget
 */
export function checkUserDataSize(size: number, what: string): void {
  if (size <= USER_DATA_BUDGET_BYTES) return;
  throw new GtiError(
    `The user data of ${what} would be about ${size} bytes gzipped, over this module's budget of ${USER_DATA_BUDGET_BYTES} ` +
      `(EC2 accepts ${USER_DATA_LIMIT_BYTES} bytes). It holds only runtime.env and ${RUNTIME_FETCH_SCRIPT} (the runtime is fetched from S3). ` +
      `Fix: shorten runtime/${RUNTIME_FETCH_SCRIPT} or the configuration values (extra entries of the mode).`,
  );
}
