// The EC2 Auto Scaling and EC2 half of the `aws` stub (stub.sh calls it with the CLI's arguments, under a lock): a
// fleet's groups and instances live in the JSON file $FAKE_AWS_WORLD ({groups: [AutoScalingGroup], instances:
// [Instance]}, the API's shapes). Filters and the terminate / complete-lifecycle state changes follow the API; --query is
// real JMESPath and --output text is the CLI's text format, so the runtime's queries are tested as written.
// Errors: the CLI's message on stderr, exit 254. The test process serves it (FakeImds, POST /gti-test/aws: one call at a
// time, no node start per call); run directly (`node fake-aws.cjs ARGS...`, $FAKE_AWS_WORLD) it is the same CLI.
"use strict";
const { existsSync, readFileSync, writeFileSync } = require("node:fs");
const jmespath = require("jmespath");

/** Thrown by fail() and the end of a call: what the CLI would print and its exit code. */
class Exit {
  constructor(code) {
    this.code = code;
  }
}

/** One `aws` call: argv without "aws", file the world's JSON file. */
function fakeAws(argv, file) {
  const out = { stdout: "", stderr: "" };
  try {
    call(argv, file, out);
    return { code: 0, ...out };
  } catch (e) {
    if (e instanceof Exit) return { code: e.code, ...out };
    throw e;
  }
}

function call(argv, file, out) {
const world = file && existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : { groups: [], instances: [] };
const [service, operation, ...rest] = argv;

/** --name value... (values until the next --option); flags without values map to []. */
const opts = {};
for (let i = 0, key = ""; i < rest.length; i++) {
  if (rest[i].startsWith("--")) opts[(key = rest[i].slice(2))] = [];
  else if (key) opts[key].push(rest[i]);
}
const one = (name) => (opts[name] ?? [])[0];

function fail(code, message) {
  out.stderr += `\nAn error occurred (${code}) when calling the ${operation.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase())} operation: ${message}\n`;
  throw new Exit(254);
}

/** awscli/text.py, line by line: what `--output text` prints for a (queried) response. */
function text(item, out = [], id = undefined, scalarKeys = undefined) {
  const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  const isScalar = (v) => v === null || typeof v !== "object";
  const str = (v) => (v === null || v === undefined ? "None" : v === true ? "True" : v === false ? "False" : String(v));
  if (isObj(item)) {
    const keys = scalarKeys ?? Object.keys(item).filter((k) => isScalar(item[k])).sort();
    const scalars = keys.map((k) => (k in item ? str(item[k]) : ""));
    if (scalars.length) out.push((id ? [id.toUpperCase(), ...scalars] : scalars).join("\t"));
    for (const k of Object.keys(item).filter((x) => !keys.includes(x)).sort()) text(item[k], out, k);
  } else if (Array.isArray(item)) {
    if (item.length === 0) return out;
    if (item.some(isObj)) {
      const all = [...new Set(item.flatMap((e) => (isObj(e) ? Object.keys(e).filter((k) => isScalar(e[k])) : [])))].sort();
      for (const e of item) text(e, out, id, all);
    } else {
      const scalars = item.filter(isScalar);
      if (scalars.length) {
        if (id) for (const v of scalars) out.push(`${id.toUpperCase()}\t${str(v)}`);
        else out.push(scalars.map(str).join("\t"));
      }
      for (const e of item.filter((x) => !isScalar(x))) text(e, out, id);
    }
  } else out.push(str(item));
  return out;
}

function print(response) {
  const result = opts.query ? jmespath.search(response, opts.query[0]) : response;
  if (one("output") === "text") out.stdout += text(result).map((l) => `${l}\n`).join("");
  else if (result !== undefined) out.stdout += `${JSON.stringify(result, null, 4)}\n`;
}

const save = () => writeFileSync(file, JSON.stringify(world, null, 2));
const groupOf = (id) => world.groups.find((g) => g.Instances.some((i) => i.InstanceId === id));

switch (`${service} ${operation}`) {
  case "autoscaling describe-auto-scaling-groups": {
    const names = opts["auto-scaling-group-names"];
    print({ AutoScalingGroups: world.groups.filter((g) => !names || names.includes(g.AutoScalingGroupName)) });
    break;
  }
  case "ec2 describe-instances": {
    const filters = (opts.filters ?? []).map((f) => {
      const m = /^Name=([^,]+),Values=(.*)$/.exec(f);
      if (!m) fail("InvalidParameterValue", `bad filter ${f}`);
      return { name: m[1], values: m[2].split(",") };
    });
    const value = (inst, name) =>
      name === "instance-state-name" ? inst.State.Name : name.startsWith("tag:") ? (inst.Tags ?? []).find((t) => t.Key === name.slice(4))?.Value : fail("InvalidParameterValue", `unsupported filter ${name}`);
    const found = world.instances.filter((inst) => filters.every((f) => f.values.includes(value(inst, f.name))));
    print({ Reservations: found.map((inst) => ({ ReservationId: `r-${inst.InstanceId}`, Instances: [inst] })) });
    break;
  }
  case "autoscaling terminate-instance-in-auto-scaling-group": {
    const id = one("instance-id");
    const group = groupOf(id);
    if (!group) fail("ValidationError", "Instance Id not found - No managed instance found for instance ID: " + id);
    const member = group.Instances.find((i) => i.InstanceId === id);
    if (member.LifecycleState.startsWith("Terminating")) fail("ScalingActivityInProgress", "Instance is already terminating");
    member.LifecycleState = group.LifecycleHooks?.length ? "Terminating:Wait" : "Terminating";
    if ("should-decrement-desired-capacity" in opts) group.DesiredCapacity -= 1;
    save();
    print({ Activity: { ActivityId: `activity-${id}`, AutoScalingGroupName: group.AutoScalingGroupName, StatusCode: "InProgress" } });
    break;
  }
  case "autoscaling complete-lifecycle-action": {
    const id = one("instance-id");
    const group = world.groups.find((g) => g.AutoScalingGroupName === one("auto-scaling-group-name"));
    const member = group?.Instances.find((i) => i.InstanceId === id);
    if (!group || !(group.LifecycleHooks ?? []).includes(one("lifecycle-hook-name")) || member?.LifecycleState !== "Terminating:Wait") {
      fail("ValidationError", `No active Lifecycle Action found with instance ID ${id}`);
    }
    if (!["CONTINUE", "ABANDON"].includes(one("lifecycle-action-result"))) fail("ValidationError", "bad --lifecycle-action-result");
    member.LifecycleState = "Terminating:Proceed";
    save();
    break;
  }
  default:
    out.stderr += `stub aws: unsupported call: ${argv.join(" ")}\n`;
    throw new Exit(252);
}
}

module.exports = { fakeAws };

if (require.main === module) {
  const result = fakeAws(process.argv.slice(2), process.env.FAKE_AWS_WORLD);
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.code;
}
