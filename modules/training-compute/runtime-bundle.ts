/**
 * The on-instance runtime as synth reads it and ships it: the files of `runtime/` ({@link readRuntimeFiles}) and the
 * self-extracting bash script they become ({@link renderRuntimeBundle}), written to a content-addressed file
 * ({@link writeRuntimeBundle}) that the compute module uploads to `runtime/<sha256>.sh` of the outputs bucket. The
 * user data that fetches it: user-data.ts.
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, posix, relative, sep } from "node:path";
import { GtiError } from "../../src/errors";

/** The project's `runtime/` folder. */
export const RUNTIME_DIR = join(__dirname, "..", "..", "runtime");

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

/** `path (N bytes)` of the three largest files. */
function largestFiles(files: readonly RuntimeFile[]): string {
  return [...files]
    .sort((a, b) => b.content.length - a.content.length)
    .slice(0, 3)
    .map((f) => `${f.path} (${f.content.length} bytes)`)
    .join(", ");
}
