import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  REPOSITORY_ROOT,
  describeEdge,
  importGraph,
  importsOf,
  layerOf,
  sourceFiles,
  upwardArrows,
} from "../support/import-graph";

describe("layers (docs/architecture.md)", () => {
  it("GIVEN the repository WHEN its import graph is read THEN no arrow runs from a lower layer to a higher one", () => {
    const upward = upwardArrows(importGraph(REPOSITORY_ROOT)).map(describeEdge);
    expect(upward).toEqual([]);
  });

  it("GIVEN the repository WHEN its sources are listed THEN every layer holds files and the graph has arrows into each", () => {
    const files = sourceFiles(REPOSITORY_ROOT);
    const edges = importGraph(REPOSITORY_ROOT);
    for (const layer of ["core", "modules", "app"] as const) {
      expect(files.some((f) => layerOf(f) === layer), layer).toBe(true);
      expect(edges.some((e) => layerOf(e.to) === layer), layer).toBe(true);
    }
  });

  it("GIVEN every relative import WHEN resolved THEN it names an existing file (the graph misses nothing)", () => {
    const unresolved = importGraph(REPOSITORY_ROOT).filter((e) => !existsSync(join(REPOSITORY_ROOT, e.to)));
    expect(unresolved).toEqual([]);
  });

  it("GIVEN the module sources WHEN read THEN none declares a Terraform output (the stack owns the interface)", () => {
    const declaring = sourceFiles(REPOSITORY_ROOT)
      .filter((file) => layerOf(file) === "modules")
      .filter((file) => /new TerraformOutput\(/.test(readFileSync(join(REPOSITORY_ROOT, file), "utf8")));
    expect(declaring).toEqual([]);
  });

  it("GIVEN the module sources WHEN read THEN none imports the stack's variables constructs (modules take their tokens)", () => {
    const importing = sourceFiles(REPOSITORY_ROOT)
      .filter((file) => layerOf(file) === "modules")
      .filter((file) => /import[^;]*\b(TrainingVariables|FleetVariables)\b[^;]*from/.test(readFileSync(join(REPOSITORY_ROOT, file), "utf8")));
    expect(importing).toEqual([]);
  });

  it("GIVEN the module folders WHEN their imports of each other are read THEN they form no cycle", () => {
    const folderOf = (file: string): string | undefined => /^modules\/([^/]+)\//.exec(file)?.[1];
    const uses = new Map<string, Set<string>>();
    for (const edge of importGraph(REPOSITORY_ROOT)) {
      const from = folderOf(edge.from);
      const to = folderOf(edge.to);
      if (from && to && from !== to) uses.set(from, (uses.get(from) ?? new Set()).add(to));
    }
    const reaches = (start: string, target: string, seen = new Set<string>()): boolean =>
      [...(uses.get(start) ?? [])].some((next) => next === target || (!seen.has(next) && seen.add(next) && reaches(next, target, seen)));
    expect([...uses.keys()].filter((folder) => reaches(folder, folder))).toEqual([]);
  });

  it("GIVEN a core helper importing a module WHEN checked THEN the arrow is reported", () => {
    const exists = (p: string): boolean => p === "modules/training-compute/index.ts";
    const edges = importsOf("src/naming.ts", 'import { TrainingCompute } from "../modules/training-compute";\n', exists);
    expect(upwardArrows(edges).map(describeEdge)).toEqual(["src/naming.ts -> modules/training-compute/index.ts (core -> modules)"]);
  });

  it("GIVEN a module importing the config schema or a stack WHEN checked THEN both arrows are reported", () => {
    const text = 'import type { EnvironmentConfig } from "../../src/config/schema";\nexport { X } from "../../stacks/tags";\n';
    const exists = (p: string): boolean => ["src/config/schema.ts", "stacks/tags.ts"].includes(p);
    expect(upwardArrows(importsOf("modules/training-fleet/index.ts", text, exists)).length).toBe(2);
  });

  it("GIVEN a stack importing modules and core helpers WHEN checked THEN nothing is reported", () => {
    const text = 'import { TrainingSafety } from "../modules/training-safety";\nimport { address } from "../src/naming";\n';
    const exists = (p: string): boolean => ["modules/training-safety/index.ts", "src/naming.ts"].includes(p);
    expect(upwardArrows(importsOf("stacks/environment-stack.ts", text, exists))).toEqual([]);
  });
});
