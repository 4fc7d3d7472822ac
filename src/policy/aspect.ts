/**
 * The pack as a cdktf Aspect, the way cdk-nag's packs are AWS CDK Aspects.
 *
 * How it fails synth (checked on cdktf 0.21): error annotations alone are not enough. `app.synth()` turns them into a
 * plain Error (a stack trace through main.ts) whose fix is a global switch (CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS);
 * the cdktf CLI sets that switch, lets the app write the JSON and only then prints them; `Testing.synth(stack, true)`
 * ignores them. So the aspect registers a stack validation, which cdktf runs after every aspect in both
 * `app.synth()` and `Testing.synth(stack, true)`, before the stack's JSON is written: it evaluates the rules on the
 * final tree and throws a {@link PolicyViolationError} (a GtiError: `main.ts` prints it without a stack trace) listing
 * every violation of this stack and of every other checked stack of the app, so one run shows everything.
 * It also annotates the constructs with an error per violation; suppressed findings are only in the one-line summary
 * ({@link printPolicySummary}), which the cdktf CLI would otherwise print a second time as INFO annotations.
 *
 * Aspects on an App never run in cdktf (each stack's aspects are invoked from the stack down), so the pack is added
 * per stack: {@link applyPolicy}.
 */
import { Annotations, App, Aspects, type IAspect, TerraformStack } from "cdktf";
import type { IConstruct } from "constructs";
import { GtiError } from "../errors";
import { evaluateStack, failed, type PolicyReport } from "./engine";
import { PACK_NAMES, rulesOf } from "./packs";
import { POLICY_DETAILS_VARIABLE, PolicyViolationError, formatSummary, formatUnused, formatViolation } from "./report";
import type { Json, PackName, PolicyRule } from "./types";

export interface PolicyChecksOptions {
  /** Packs to run. @default every pack (security and cost) */
  readonly packs?: readonly PackName[];
}

const lastReports = new WeakMap<TerraformStack, PolicyReport>();
const annotated = new WeakMap<IConstruct, Set<string>>();

/** Runs the policy packs on the stack it is added to, and fails synth on a violation. */
export class PolicyChecks implements IAspect {
  /** The rules this aspect runs. */
  public readonly rules: readonly PolicyRule[];
  private readonly registered = new WeakSet<IConstruct>();

  public constructor(options: PolicyChecksOptions = {}) {
    this.rules = rulesOf(options.packs ?? PACK_NAMES);
  }

  public visit(node: IConstruct): void {
    // Aspects visit the scope they were added to, then every construct below it; the work happens once, per stack.
    if (!Aspects.of(node).all.includes(this) || this.registered.has(node)) return;
    if (!(node instanceof TerraformStack)) {
      throw new GtiError(
        `PolicyChecks was added to ${node.node.path}, which is not a stack. Fix: add it to the stack, with applyPolicy(stack).`,
      );
    }
    this.registered.add(node);
    // A validation, not work done here: other aspects may still change constructs below this one.
    node.node.addValidation({ validate: () => this.validate(node) });
  }

  /** Evaluates the stack; throws {@link PolicyViolationError} when it has violations or unused suppressions. */
  public validate(stack: TerraformStack): string[] {
    const json = stack.toTerraform() as Json;
    const report = evaluateStack(stack, this.rules, json);
    lastReports.set(stack, report);
    annotate(stack, report);
    if (failed(report)) {
      const others = checkedStacks(stack)
        .filter(([other]) => other !== stack)
        .map(([other, aspect]) => evaluateStack(other, aspect.rules));
      throw new PolicyViolationError([report, ...others.filter(failed)]);
    }
    reuseForTheWrite(stack, json);
    return [];
  }
}

/**
 * Hands the JSON the rules just read to the synthesizer's own `stack.toTerraform()`, instead of building it a second
 * time (~20 ms per stack, a full resolve of every token). Validations are the last step before the synthesizer
 * writes the stack's JSON (`app.synth()` and `Testing.synth(stack, true)` alike: aspects have run, the tree no longer
 * changes; what comes between, asset copies and annotations, is not part of the JSON), so it is the same JSON.
 * The hand-over is for that one call only: the next call, or anything after the current synchronous synth, builds
 * it afresh.
 */
function reuseForTheWrite(stack: TerraformStack, json: Json): void {
  if (Object.prototype.hasOwnProperty.call(stack, "toTerraform")) return;
  const own = stack as { toTerraform: () => unknown };
  const forget = () => {
    if (own.toTerraform === once) delete (own as Partial<typeof own>).toTerraform;
  };
  const once = () => {
    forget();
    return json;
  };
  own.toTerraform = once;
  queueMicrotask(forget);
}

/**
 * Applies every policy pack (or the ones named) to a stack. Call it once, in the stack's constructor.
 * @throws GtiError when the stack already has the packs
 */
export function applyPolicy(stack: TerraformStack, options: PolicyChecksOptions = {}): PolicyChecks {
  if (Aspects.of(stack).all.some((aspect) => aspect instanceof PolicyChecks)) {
    throw new GtiError(
      `The policy packs are applied twice to stack "${stack.node.id}" (each would check it again). Fix: call applyPolicy once, in the stack's constructor.`,
    );
  }
  const checks = new PolicyChecks(options);
  Aspects.of(stack).add(checks);
  return checks;
}

/** The stacks of the app holding `stack` that carry a {@link PolicyChecks} aspect, with it. */
function checkedStacks(stack: TerraformStack): [TerraformStack, PolicyChecks][] {
  const root = stack.node.root;
  const stacks = root.node.findAll().filter((c): c is TerraformStack => c instanceof TerraformStack);
  return stacks.flatMap((s) => {
    const aspect = Aspects.of(s).all.find((a): a is PolicyChecks => a instanceof PolicyChecks);
    return aspect ? [[s, aspect] as [TerraformStack, PolicyChecks]] : [];
  });
}

/** The report of the last synth of a stack (undefined before synth, or without the pack). */
export function policyReportOf(stack: TerraformStack): PolicyReport | undefined {
  return lastReports.get(stack);
}

/** The reports of every checked stack of a synthesized app. */
export function policyReports(app: App): PolicyReport[] {
  return app.node
    .findAll()
    .filter((c): c is TerraformStack => c instanceof TerraformStack)
    .flatMap((stack) => {
      const report = lastReports.get(stack);
      return report ? [report] : [];
    });
}

/**
 * Prints the policy summary of a synthesized app to stdout: one line, or every suppressed finding with its reason when
 * `GTI_POLICY_DETAILS=1`. This is the only place suppressions are printed (no annotations: the cdktf CLI would print
 * each again).
 */
export function printPolicySummary(app: App, env: NodeJS.ProcessEnv = process.env): void {
  process.stdout.write(formatSummary(policyReports(app), { details: env[POLICY_DETAILS_VARIABLE] === "1" }));
}

function annotate(stack: TerraformStack, report: PolicyReport): void {
  const byPath = new Map<string, IConstruct>(stack.node.findAll().map((c) => [c.node.path, c]));
  const add = (path: string | undefined, message: string) => {
    const construct = (path !== undefined && byPath.get(path)) || stack;
    const done = annotated.get(construct) ?? new Set<string>();
    if (done.has(message)) return;
    done.add(message);
    annotated.set(construct, done);
    Annotations.of(construct).addError(message);
  };
  // Suppressed findings are not annotated: printPolicySummary reports them once per run.
  for (const violation of report.violations) add(violation.constructPath, formatViolation(violation));
  for (const unused of report.unused) add(unused.constructPath, formatUnused(unused));
}
