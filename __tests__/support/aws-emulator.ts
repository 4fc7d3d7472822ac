/**
 * A real local AWS API for tests: moto server on 127.0.0.1, started through scripts/local-aws.py (which bridges the
 * moto gaps this project hits, each with its reason). Detect, never assume: {@link detectEmulator} says why it cannot
 * run (no python3, no moto server), and the tests that need it skip with that reason.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const LAUNCHER = join(__dirname, "..", "..", "scripts", "local-aws.py");

export type EmulatorDetection =
  | {
      readonly available: true;
      readonly version: string;
      /**
       * The interpreter itself (`sys.executable`), which {@link startEmulator} runs: `python3` is often a pyenv shim, a
       * bash script that costs ~15 processes per start. @default the command probed
       */
      readonly python?: string;
    }
  | { readonly available: false; readonly reason: string };

/**
 * Looks for moto without importing it (importing moto.server costs ~0.7 s of CPU, and the server imports it again): the
 * packages the launcher imports (moto with its server module, werkzeug, flask, flask_cors) are found by
 * `importlib.util.find_spec`, moto's version read from its metadata. Prints the version and `sys.executable`.
 */
const PROBE = [
  "import importlib.util, os, sys",
  "from importlib.metadata import version",
  "spec = importlib.util.find_spec('moto')",
  "if spec is None: sys.exit(\"ModuleNotFoundError: No module named 'moto'\")",
  "if not any(os.path.exists(os.path.join(d, 'server.py')) for d in spec.submodule_search_locations or []): sys.exit(\"ModuleNotFoundError: No module named 'moto.server'\")",
  "missing = [m for m in ('werkzeug', 'flask', 'flask_cors') if importlib.util.find_spec(m) is None]",
  "if missing: sys.exit(f\"ModuleNotFoundError: No module named '{missing[0]}'\")",
  "print(version('moto')); print(sys.executable)",
].join("\n");

const detections = new Map<string, EmulatorDetection>();

/** Whether moto server can run here (python3 with `moto[server]`), its version and the interpreter. Never throws; once per process and interpreter. */
export function detectEmulator(python = process.env.PYTHON ?? "python3"): EmulatorDetection {
  let detection = detections.get(python);
  if (!detection) {
    detection = probeEmulator(python);
    detections.set(python, detection);
  }
  return detection;
}

function probeEmulator(python: string): EmulatorDetection {
  const probe = spawnSync(python, ["-c", PROBE], { encoding: "utf8", timeout: 30_000 });
  if (probe.error) return { available: false, reason: `${python} not found (${probe.error.message}); the local AWS API needs python3 with moto[server]` };
  if (probe.status !== 0) {
    const last = probe.stderr.trim().split("\n").pop() ?? "";
    return { available: false, reason: `moto server is not installed for ${python} (${last}). Fix: pip install "moto[server]"` };
  }
  const [version = "", executable = ""] = probe.stdout.trim().split("\n");
  return { available: true, version, python: executable || python };
}

/** A running emulator. */
export interface AwsEmulator {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** Environment for the AWS CLI, the SDKs and Terraform's provider: endpoint, test credentials, region. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Runs `fn` with moto's request recorder on and returns the requests the server received meanwhile (method, URL,
   * headers; bodies are dropped), in order. For checking what a client sent (e.g. a conditional PUT).
   */
  recordRequests<T>(fn: () => Promise<T>): Promise<{ readonly result: T; readonly requests: readonly RecordedRequest[] }>;
  /** Stops the server (idempotent). */
  stop(): Promise<void>;
}

/** One request as moto's recorder saw it. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Test credentials: moto accepts any, and these can never be real ones. */
export const EMULATOR_CREDENTIALS = { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" } as const;

/** Starts one server on a free port of 127.0.0.1 and waits until it answers. */
export async function startEmulator(
  options: {
    readonly region?: string;
    readonly python?: string;
    /** The account the emulator answers as (moto's MOTO_ACCOUNT_ID). @default moto's 123456789012 */
    readonly accountId?: string;
  } = {},
): Promise<AwsEmulator> {
  // moto's request recorder (off until asked) writes here: one JSON line per request.
  const recordingDir = mkdtempSync(join(tmpdir(), "gti-aws-emulator-"));
  const recordingFile = join(recordingDir, "requests.jsonl");
  const python = options.python ?? process.env.PYTHON ?? "python3";
  const detection = detectEmulator(python);
  const child = spawn((detection.available && detection.python) || python, [LAUNCHER, "--port", "0", "--exit-on-stdin-close"], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, MOTO_RECORDER_FILEPATH: recordingFile, ...(options.accountId ? { MOTO_ACCOUNT_ID: options.accountId } : {}) },
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local AWS API did not start in 30 s: ${stderr}`)), 30_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`local AWS API exited with ${code}: ${stderr}`));
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const match = /^READY (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  const region = options.region ?? "us-east-1";
  return {
    endpoint,
    env: {
      ...EMULATOR_CREDENTIALS,
      AWS_ENDPOINT_URL: endpoint,
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_EC2_METADATA_DISABLED: "true",
    },
    recordRequests: async (fn) => {
      const recorder = (action: string) => fetch(`${endpoint}/moto-api/recorder/${action}`, { method: "POST" });
      await recorder("reset-recording");
      await recorder("start-recording");
      let result;
      try {
        result = await fn();
      } finally {
        await recorder("stop-recording");
      }
      const lines = existsSync(recordingFile) ? readFileSync(recordingFile, "utf8").split("\n").filter(Boolean) : [];
      const requests = lines.map((line) => {
        const { method, url, headers } = JSON.parse(line) as RecordedRequest;
        return { method, url, headers };
      });
      await recorder("reset-recording");
      return { result, requests };
    },
    stop: async () => {
      await stopChild(child);
      rmSync(recordingDir, { recursive: true, force: true });
    },
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    child.stdin?.end();
    child.kill("SIGTERM");
  });
}
