/**
 * The training instance's user data and the runtime bundle it fetches: the on-instance runtime (`runtime/`) travels
 * as an S3 object, the user data only carries the configuration and the script that fetches it. Rendered at synth.
 *
 * Contract with `runtime/` (runtime/README.md): every file under `runtime/` except `*.md` is written to
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
import { gzipSync } from "node:zlib";
import { GtiError } from "../../src/errors";
import { RUNTIME_FETCH_SCRIPT, type RuntimeFile } from "./runtime-bundle";

/** The runtime files and their bundle (runtime-bundle.ts), re-exported for the module's users. */
export * from "./runtime-bundle";

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
