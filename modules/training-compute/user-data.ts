/**
 * The training instance's user data: a cloud-config that installs the on-instance runtime (`runtime/`) and writes its
 * configuration, rendered at synth as a Terraform template string.
 *
 * Contract with `runtime/` (README, "On-instance runtime"): every file under `runtime/` except `*.md` is written to
 * `/opt/gpu-training/<same relative path>` (mode 0755 under `bin/` and for `*.sh`, 0644 otherwise), the configuration
 * is written to `/etc/gpu-training/runtime.env` as shell `KEY='value'` lines, then `/opt/gpu-training/install.sh`
 * runs as root (cloud-init `runcmd`, once per instance; the units it enables run on every boot).
 *
 * **Encoding and size.** EC2 accepts at most 16 KB of user data (raw, before base64). The runtime alone is larger than
 * that as text, so the instance gets `user_data_base64 = base64gzip(<cloud-config>)` (cloud-init detects and
 * decompresses gzip): about 10 KB for 27 KB of scripts. Inside the cloud-config each runtime file is a YAML literal
 * block (plain text compresses best), with the Terraform template sequences `${` and `%{` escaped as `$${` and `%%{`
 * (the runtime's CloudWatch agent configuration holds `${aws:InstanceId}`, which must reach the instance as written).
 * A file that cannot be a literal block (not UTF-8, control characters, carriage returns) is embedded as
 * `encoding: gz+b64` instead. The configuration file is plain text with Terraform interpolations (bucket names, the
 * repository URL, `var.training_image_tag`, the run id...). {@link estimateUserDataSize} measures the gzipped size with
 * every interpolation at its longest, and the module refuses to synthesize past {@link USER_DATA_BUDGET_BYTES}.
 */
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, posix, relative, sep } from "node:path";
import { gzipSync } from "node:zlib";
import { GtiError } from "../../src/errors";

/** The project's `runtime/` folder. */
export const RUNTIME_DIR = join(__dirname, "..", "..", "runtime");

/** Where the runtime is installed on the instance. */
export const RUNTIME_INSTALL_DIR = "/opt/gpu-training";

/** The runtime's configuration file on the instance. */
export const RUNTIME_CONFIG_FILE = "/etc/gpu-training/runtime.env";

/** The script cloud-init runs, as root, once the files are written. */
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
 * Every file under `dir` except `*.md` (documentation stays in the repository), sorted by path. Symbolic links and
 * other special files are refused: the instance gets regular files only.
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
 * lose their comment lines and indentation, which are for the repository's readers (and would cost about 2 KB of the
 * 16 KB of user data): see {@link stripShell}. Other files are unchanged.
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

/** How a file is embedded in the cloud-config. */
export type FileEncoding = "text" | "gz+b64";

/** A rendered user data: the Terraform template and what it is made of. */
export interface RenderedUserData {
  /** The cloud-config, as a Terraform template string (escaped; interpolations in the configuration file). */
  readonly template: string;
  /** The `write_files` entries of the runtime files alone, escaped: static text, no interpolation. */
  readonly runtimeFilesTemplate: string;
  /** The same entries as they reach the instance (unescaped), i.e. what Terraform evaluates the template above to. */
  readonly runtimeFilesText: string;
  /** SHA-256 (hex) of {@link runtimeFilesText}, written in the cloud-config's header comment. */
  readonly runtimeSha256: string;
  /** How each runtime file is embedded, by path. */
  readonly encodings: ReadonlyMap<string, FileEncoding>;
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
 * Renders the cloud-config (a Terraform template string).
 *
 * @param files the runtime files (usually {@link readRuntimeFiles})
 * @param env the configuration file's lines, in order
 * @param header comment lines for the top of the cloud-config (e.g. which env and mode)
 * @throws GtiError when a key is malformed or a literal value holds a single quote or a newline
 */
export function renderUserData(
  files: readonly RuntimeFile[],
  env: readonly RuntimeEnvEntry[],
  header: readonly string[] = [],
): RenderedUserData {
  const encodings = new Map<string, FileEncoding>();
  const entries: string[] = [];
  for (const file of files) {
    const text = literalText(file.content);
    encodings.set(file.path, text === undefined ? "gz+b64" : "text");
    entries.push(writeFileEntry(`${RUNTIME_INSTALL_DIR}/${file.path}`, file.permissions, file.content, text));
  }
  const runtimeFilesText = entries.join("");
  const runtimeFilesTemplate = escapeTemplate(runtimeFilesText);
  const runtimeSha256 = createHash("sha256").update(runtimeFilesText, "utf8").digest("hex");

  const envFile = renderEnvFile(env);
  const lines = [
    "#cloud-config",
    ...header.map((line) => `# ${escapeTemplate(line)}`),
    `# runtime: ${files.length} files from runtime/, sha256 ${runtimeSha256} (of the write_files entries below, up to runtime.env)`,
    "write_files:",
  ];
  const template = [
    `${lines.join("\n")}\n`,
    runtimeFilesTemplate,
    // The configuration file: plain text, with Terraform interpolations in the values.
    `  - path: ${RUNTIME_CONFIG_FILE}\n    owner: root:root\n    permissions: "0644"\n    content: |\n`,
    envFile
      .split("\n")
      .map((line) => `      ${line}`)
      .join("\n"),
    "\n",
    "runcmd:\n",
    `  - [${RUNTIME_INSTALL_SCRIPT}]\n`,
  ].join("");
  return { template, runtimeFilesTemplate, runtimeFilesText, runtimeSha256, encodings };
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
 * longest (an incompressible stand-in of `maxLength` characters). This is what EC2 counts against its 16 KB.
 */
export function estimateUserDataSize(rendered: RenderedUserData, env: readonly RuntimeEnvEntry[]): number {
  let text = unescapeTemplate(rendered.template);
  let seed = 0x9e3779b9;
  for (const entry of env) {
    if (!entry.value.includes("${")) continue;
    const length = entry.maxLength ?? 256;
    let standIn = "";
    for (let i = 0; i < length; i++) {
      // xorshift32: deterministic, and random enough that gzip cannot shrink the stand-in below its entropy.
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      seed >>>= 0;
      standIn += String.fromCharCode(97 + (seed % 26));
    }
    text = text.replace(`${entry.key}='${entry.value}'`, () => `${entry.key}='${standIn}'`);
  }
  return gzipSync(Buffer.from(text, "utf8")).length;
}

/**
 * @throws GtiError naming the size, the budget and the largest runtime files, when the user data is over budget
 */
export function checkUserDataSize(size: number, files: readonly RuntimeFile[], what: string): void {
  if (size <= USER_DATA_BUDGET_BYTES) return;
  const largest = [...files]
    .sort((a, b) => b.content.length - a.content.length)
    .slice(0, 3)
    .map((f) => `${f.path} (${f.content.length} bytes)`)
    .join(", ");
  throw new GtiError(
    `The user data of ${what} would be about ${size} bytes gzipped, over this module's budget of ${USER_DATA_BUDGET_BYTES} ` +
      `(EC2 accepts ${USER_DATA_LIMIT_BYTES} bytes). The runtime/ folder has grown: largest files ${largest}. ` +
      "Fix: shrink the runtime's scripts, or move part of the runtime to S3 and fetch it at boot.",
  );
}
