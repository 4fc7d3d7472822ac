/**
 * Synthesis helpers for tests: in-memory synthesis of a stack to parsed Terraform JSON (aspects and validations
 * run, metadata stripped), and full synthesis to a temporary directory for the real-terraform checks. Every
 * temporary directory is removed (cdktf's own `Testing.app()`/`fullSynth` leave `/tmp/cdktf.outdir.*` behind).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Testing, type TerraformStack } from "cdktf";

/** The parts of a synthesized stack tests look at (Terraform JSON syntax). */
export interface SynthesizedStack {
  readonly terraform: {
    readonly backend?: Record<string, Record<string, unknown>>;
    readonly required_providers?: Record<string, { source: string; version: string }>;
    readonly required_version?: string;
  };
  readonly provider?: Record<string, Record<string, unknown>[]>;
  readonly resource?: Record<string, Record<string, Record<string, unknown>>>;
  readonly data?: Record<string, Record<string, Record<string, unknown>>>;
  readonly variable?: Record<string, Record<string, unknown>>;
  readonly output?: Record<string, Record<string, unknown>>;
  readonly locals?: Record<string, unknown>;
}

let sharedOutdir: string | undefined;

/**
 * An App for in-memory synthesis. cdktf creates the App's outdir on construction even when nothing is written, so it
 * points at one temporary directory per process, removed when the process exits.
 */
export function testApp(): App {
  if (!sharedOutdir) {
    const dir = mkdtempSync(join(tmpdir(), "gti-synth-"));
    sharedOutdir = dir;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return new App({ outdir: sharedOutdir, stackTraces: false });
}

/** Synthesizes one stack in memory, running aspects and validations, and parses the JSON. */
export function synthJson(stack: TerraformStack): SynthesizedStack {
  return JSON.parse(Testing.synth(stack, true)) as SynthesizedStack;
}

/** Every resource of a type, by Terraform name (`{ storage_data: {...} }`); empty object when none. */
export function resourcesOf(json: SynthesizedStack, type: string): Record<string, Record<string, unknown>> {
  return json.resource?.[type] ?? {};
}

/** One resource by type and name; throws with the names that do exist when it is missing. */
export function resourceOf(json: SynthesizedStack, type: string, name: string): Record<string, unknown> {
  const found = json.resource?.[type]?.[name];
  if (!found) {
    const names = Object.keys(json.resource?.[type] ?? {});
    throw new Error(`no resource ${type}.${name} (the stack has ${names.length ? names.map((n) => `${type}.${n}`).join(", ") : `no ${type}`})`);
  }
  return found;
}

/** One data source by type and name; throws with the names that do exist when it is missing. */
export function dataOf(json: SynthesizedStack, type: string, name: string): Record<string, unknown> {
  const found = json.data?.[type]?.[name];
  if (!found) {
    const names = Object.keys(json.data?.[type] ?? {});
    throw new Error(`no data source ${type}.${name} (the stack has ${names.join(", ") || `no ${type}`})`);
  }
  return found;
}

/** Every Terraform address in a synthesized stack (`aws_s3_bucket.storage_data`, `data.x.y`, `var.x`, `output.y`). */
export function addressesIn(json: SynthesizedStack): string[] {
  const list: string[] = [];
  for (const [type, byName] of Object.entries(json.resource ?? {})) for (const name of Object.keys(byName)) list.push(`${type}.${name}`);
  for (const [type, byName] of Object.entries(json.data ?? {})) for (const name of Object.keys(byName)) list.push(`data.${type}.${name}`);
  for (const name of Object.keys(json.variable ?? {})) list.push(`var.${name}`);
  for (const name of Object.keys(json.output ?? {})) list.push(`output.${name}`);
  return list.sort();
}

/** A synthesized app on disk, as `cdktf synth` writes it. */
export interface SynthesizedApp {
  /** The app's outdir (holds `manifest.json` and `stacks/`). */
  readonly outdir: string;
  /** The directory of one stack (`<outdir>/stacks/<name>`), where terraform runs. */
  stackDir(name: string): string;
  /** Removes the outdir. */
  cleanup(): void;
}

/** Builds stacks on a fresh App whose outdir is a new temporary directory, and synthesizes them to disk. */
export function synthesizeToDisk(build: (app: App) => void): SynthesizedApp {
  const outdir = mkdtempSync(join(tmpdir(), "gti-app-"));
  try {
    const app = new App({ outdir, stackTraces: false });
    build(app);
    app.synth();
  } catch (error) {
    rmSync(outdir, { recursive: true, force: true });
    throw error;
  }
  return {
    outdir,
    stackDir: (name) => join(outdir, "stacks", name),
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}
