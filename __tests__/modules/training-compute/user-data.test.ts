/**
 * The training instance's user data: the runtime contract (every file of runtime/ installed under /opt/gpu-training
 * with its mode, runtime.env written, install.sh run), the encoding (YAML literal blocks with Terraform's template
 * sequences escaped, gz+b64 where text cannot go), and the 16 KB budget.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  RUNTIME_DIR,
  type RuntimeEnvEntry,
  type RuntimeFile,
  USER_DATA_BUDGET_BYTES,
  USER_DATA_LIMIT_BYTES,
  BUNDLE_DELIMITER,
  RUNTIME_BUNDLE_LIMIT_BYTES,
  escapeTemplate,
  estimateUserDataSize,
  literalBlock,
  literalText,
  installedContent,
  readRuntimeFiles,
  renderRuntimeBundle,
  renderUserData,
  unescapeTemplate,
} from "../../../modules/training-compute";
import { evaluatedUserData, runtimeBundleOf, synthCompute, unpackBundle } from "../../support/compute/stack";
import {
  hasPython,
  pyYaml,
  runtimeFilesOnDisk,
  tempRuntime,
  temps,
  walkFiles,
} from "../../support/compute/user-data-fixtures";

afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("training-compute user data: encoding", () => {
  const awkward = [
    "",
    "\n",
    "\n\n\n",
    "no trailing newline",
    "two\n\n",
    "  leading spaces\nthen text\n",
    "\n\nleading empty lines\n",
    "tab\there\n",
    "a: yaml-looking\n- list\n# comment\n--- \n...\n",
    "unicode ümlaut 🚀\n",
    "${template} %{directive} $${already} %%{escaped}\n",
  ];

  it.each(awkward.map((text) => [JSON.stringify(text), text]))("GIVEN the text %s WHEN embedded as a literal block THEN YAML reads it back exactly", (_, text) => {
    const doc = `x:\n  - path: /f\n    content: ${literalBlock(text, "      ")}y: 1\n`;
    expect((parseYaml(doc) as { x: { content: string }[] }).x[0]?.content).toBe(text);
  });

  it.skipIf(!hasPython)("GIVEN awkward texts WHEN embedded as literal blocks THEN PyYAML reads them back exactly", () => {
    const doc = `x:\n${awkward.map((t) => `  - content: ${literalBlock(t, "      ")}`).join("")}y: 1\n`;
    expect((pyYaml(doc) as { x: { content: string }[] }).x.map((e) => e.content)).toEqual(awkward);
  });

  it.each([
    ["a carriage return", Buffer.from("a\r\nb\n")],
    ["invalid UTF-8", Buffer.from([0x61, 0xff, 0x0a])],
    ["a control character", Buffer.from("bell\u0007\n")],
    ["a Unicode line separator", Buffer.from("a\u2028b\n")],
    ["a last line of blanks", Buffer.from("text\n   \n")],
  ])("GIVEN content with %s WHEN checked THEN it cannot be a literal block", (_, content) => {
    expect(literalText(content)).toBeUndefined();
  });

  it.each([
    ["binary", Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x0d, 0x0a]), "base64"],
    ["invalid UTF-8", Buffer.from([0x61, 0xff, 0x0a]), "base64"],
    ["a line equal to the delimiter", Buffer.from(`a\n${BUNDLE_DELIMITER}\nb\n`), "base64"],
    ["no final line feed", Buffer.from("no trailing newline"), "text"],
    ["nothing", Buffer.from(""), "text"],
    ["only line feeds", Buffer.from("\n\n\n"), "text"],
    ["carriage returns and tabs", Buffer.from("a\r\n\tb\r\n"), "text"],
    ["template sequences and shell syntax", Buffer.from("${x} %{y} $(rm -rf /) `z` 'q' \\\n"), "text"],
    ["unicode", Buffer.from("ümlaut 🚀\n"), "text"],
  ] as const)("GIVEN a runtime file with %s WHEN bundled and unpacked THEN it has exactly its bytes", (_, content, encoding) => {
    const files: RuntimeFile[] = [
      { path: "install.sh", content: Buffer.from("#!/bin/sh\n"), permissions: "0755" },
      { path: "lib/file.bin", content, permissions: "0644" },
    ];
    const bundle = renderRuntimeBundle(files);
    expect(bundle.encodings.get("lib/file.bin")).toBe(encoding);
    const out = unpackBundle(bundle.text, tempRuntime({}));
    expect(readFileSync(join(out, "lib/file.bin")).equals(content)).toBe(true);
  });

  it("GIVEN the project's runtime WHEN bundled THEN every file is a plain here-document (readable in S3)", () => {
    expect([...renderRuntimeBundle(readRuntimeFiles()).encodings.values()].every((e) => e === "text")).toBe(true);
  });

  it("GIVEN a file name with a quote WHEN bundled THEN a GtiError names it", () => {
    const files: RuntimeFile[] = [{ path: "bin/it's", content: Buffer.from("x"), permissions: "0755" }];
    expect(() => renderRuntimeBundle(files)).toThrow(/"bin\/it's" has a name the bundle cannot carry/);
  });

  it.each(["${x}", "%{x}", "$${x}", "%%{x}", "$$${x}", "a $ {b} $"])("GIVEN the text %s WHEN escaped and evaluated THEN it is unchanged", (text) => {
    expect(unescapeTemplate(escapeTemplate(text))).toBe(text);
    expect(escapeTemplate(text)).not.toMatch(/(^|[^$])\$\{|(^|[^%])%\{/);
  });
});

describe("training-compute user data: reading runtime/", () => {
  it("GIVEN runtime/ WHEN read THEN the files are sorted and *.md and __pycache__/ are left out", () => {
    const dir = tempRuntime({ "install.sh": "x", "README.md": "doc", "bin/b": "b", "bin/a": "a", "lib/x.sh": "s", "conf.json": "{}", "lib/__pycache__/p.pyc": "\0" });
    expect(readRuntimeFiles(dir).map((f) => [f.path, f.permissions])).toEqual([
      ["bin/a", "0755"],
      ["bin/b", "0755"],
      ["conf.json", "0644"],
      ["install.sh", "0755"],
      ["lib/x.sh", "0755"],
    ]);
  });

  it("GIVEN a runtime without install.sh WHEN read THEN a GtiError says the user data needs it", () => {
    const dir = tempRuntime({ "bin/a": "a" });
    expect(() => readRuntimeFiles(dir)).toThrow(/has no install\.sh/);
  });

  it("GIVEN a missing runtime folder WHEN read THEN a GtiError names it", () => {
    expect(() => readRuntimeFiles(join(tmpdir(), "gti-no-such-runtime"))).toThrow(/Cannot read the instance runtime/);
  });

  it("GIVEN a symbolic link in runtime/ WHEN read THEN a GtiError refuses it", () => {
    const dir = tempRuntime({ "install.sh": "x" });
    symlinkSync(join(dir, "install.sh"), join(dir, "link.sh"));
    expect(() => readRuntimeFiles(dir)).toThrow(/not a regular file/);
  });

  it("GIVEN a runtime dir WHEN the module synthesizes THEN it installs what that dir holds", () => {
    const dir = tempRuntime({ "install.sh": "#!/bin/sh\necho hi\n", "bin/tool": "#!/bin/sh\n", "fetch-runtime.sh": "#!/bin/sh\n" });
    const { json } = synthCompute({ compute: { runtimeDir: dir } });
    expect(walkFiles(unpackBundle(runtimeBundleOf(json), tempRuntime({})))).toEqual(["bin/tool", "fetch-runtime.sh", "install.sh"]);
  });

  it("GIVEN a runtime dir without fetch-runtime.sh WHEN the module synthesizes THEN a GtiError says the user data runs it", () => {
    const dir = tempRuntime({ "install.sh": "#!/bin/sh\n" });
    expect(() => synthCompute({ compute: { runtimeDir: dir } })).toThrow(/has no fetch-runtime\.sh: the user data runs it/);
  });
});

describe("training-compute user data: sizes", () => {
  it("GIVEN the project's runtime WHEN estimated with every interpolated value at its longest THEN the user data fits the budget with room to spare", () => {
    const { compute } = synthCompute();
    expect(compute.userData.estimatedBytes).toBeGreaterThan(1000);
    // The runtime is in S3: the user data holds runtime.env and the fetch script only.
    expect(compute.userData.estimatedBytes).toBeLessThanOrEqual(USER_DATA_BUDGET_BYTES / 3);
  });

  it("GIVEN the synthesized user data WHEN gzipped as Terraform's base64gzip does THEN the raw bytes are under EC2's 16 KB", () => {
    const { json } = synthCompute();
    // Interpolated values at their longest: 300-character stand-ins.
    const text = evaluatedUserData(json).replace(/\$\{[^}]+\}/g, "x".repeat(300));
    expect(gzipSync(Buffer.from(text)).length).toBeLessThan(USER_DATA_LIMIT_BYTES);
  });

  it("GIVEN the budget WHEN computed THEN it leaves 10% of EC2's limit for differences between gzip implementations", () => {
    expect(USER_DATA_BUDGET_BYTES).toBe(Math.floor(16_384 * 0.9));
  });

  it("GIVEN interpolated values WHEN estimated THEN their longest length counts, not the reference's", () => {
    const fetch: RuntimeFile = { path: "fetch-runtime.sh", content: Buffer.from("#!/bin/sh\n"), permissions: "0755" };
    const ref = { uri: "s3://${var.b}/runtime/x.sh", sha256: "0".repeat(64), files: 1 };
    const short: RuntimeEnvEntry[] = [{ key: "GTI_X", value: "${var.x}", maxLength: 10 }];
    const long: RuntimeEnvEntry[] = [{ key: "GTI_X", value: "${var.x}", maxLength: 5000 }];
    expect(estimateUserDataSize(renderUserData(fetch, ref, long), long)).toBeGreaterThan(estimateUserDataSize(renderUserData(fetch, ref, short), short) + 2000);
  });

  it("GIVEN a fetch script that outgrew the user data WHEN synthesized THEN a GtiError names the size and the budget", () => {
    // 40,000 pseudo-random letters: about 23 KB gzipped.
    const random = Buffer.from(randomBytes(40_000).map((byte) => 97 + (byte % 26)));
    const dir = tempRuntime({ "install.sh": "#!/bin/sh\n", "fetch-runtime.sh": Buffer.concat([Buffer.from("#!/bin/sh\n"), random]) });
    expect(() => synthCompute({ compute: { runtimeDir: dir } })).toThrow(new RegExp(`over this module's budget of ${USER_DATA_BUDGET_BYTES}.*runtime\\.env and fetch-runtime\\.sh`));
  });

  it("GIVEN a runtime over the bundle's limit WHEN bundled THEN a GtiError names the size, the limit and the largest file", () => {
    const files: RuntimeFile[] = [
      { path: "install.sh", content: Buffer.from("#!/bin/sh\n"), permissions: "0755" },
      { path: "lib/huge.sh", content: Buffer.alloc(RUNTIME_BUNDLE_LIMIT_BYTES, "a"), permissions: "0755" },
    ];
    expect(() => renderRuntimeBundle(files)).toThrow(new RegExp(`over ${RUNTIME_BUNDLE_LIMIT_BYTES} .*Glacier.*lib/huge\\.sh \\(${RUNTIME_BUNDLE_LIMIT_BYTES} bytes\\)`));
  });

  it("GIVEN the outputs bucket's lifecycle rules WHEN synthesized THEN they keep S3's 128 KB transition minimum (the bundle never goes to Glacier)", () => {
    const { json } = synthCompute();
    const lifecycle = (json.resource as Record<string, Record<string, Record<string, unknown>>>).aws_s3_bucket_lifecycle_configuration?.storage_outputs;
    expect(lifecycle?.rule).toBeDefined();
    expect(lifecycle?.transition_default_minimum_object_size ?? "all_storage_classes_128K").toBe("all_storage_classes_128K");
  });

  it("GIVEN the project's runtime WHEN bundled THEN it leaves at least 32 KiB under the bundle's limit (room for the next features)", () => {
    expect(RUNTIME_BUNDLE_LIMIT_BYTES - renderRuntimeBundle(readRuntimeFiles()).bytes).toBeGreaterThanOrEqual(32 * 1024);
  });

  it("GIVEN the runtime on disk WHEN measured THEN the module reads exactly the files and sizes found there", () => {
    const files = readRuntimeFiles();
    expect(files.map((f) => [f.path, f.content.length])).toEqual(
      runtimeFilesOnDisk().map((p) => [p, installedContent(p, readFileSync(join(RUNTIME_DIR, p))).length]),
    );
    // Shell scripts lose their comments (stripShell); everything else is byte for byte.
    for (const f of files.filter((x) => x.permissions === "0644")) expect(f.content.length, f.path).toBe(statSync(join(RUNTIME_DIR, f.path)).size);
  });
});
