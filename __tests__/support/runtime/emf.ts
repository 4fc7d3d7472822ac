/**
 * The CloudWatch embedded metric format, for tests: a checker of the specification's rules (the document structure
 * and its JSON schema: "Specification: Embedded metric format", CloudWatch User Guide) plus the CloudWatch agent's own
 * test for an EMF event in a log file (one line that starts with `{`, ends with `}` and holds `"CloudWatchMetrics"`:
 * the agent then sends it with `x-amzn-logs-format: json/emf`), and a reader of the datapoints a record publishes.
 */

/** The units the specification's schema allows. */
export const EMF_UNITS = new Set([
  "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes", "Bits", "Kilobits",
  "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second",
  "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
  "Terabits/Second", "Count/Second", "None",
]);

interface MetricDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit?: string; StorageResolution?: number }[];
}

export interface EmfRecord {
  _aws: { Timestamp: number; CloudWatchMetrics: MetricDirective[] };
  [member: string]: unknown;
}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Every rule a log line breaks (empty: a valid EMF event the agent recognizes). */
export function emfProblems(line: string): string[] {
  const problems: string[] = [];
  if (!line.startsWith("{") || !line.endsWith("}") || !line.includes('"CloudWatchMetrics"') || line.includes("\n")) {
    problems.push("not one line from { to } holding \"CloudWatchMetrics\" (the agent would not send it as EMF)");
  }
  let doc: EmfRecord;
  try {
    doc = JSON.parse(line) as EmfRecord;
  } catch (error) {
    return [...problems, `not JSON: ${(error as Error).message}`];
  }
  if (Buffer.byteLength(line) > 1024 * 1024) problems.push("over 1 MB");
  const meta = doc._aws;
  if (!meta || typeof meta !== "object") return [...problems, "no _aws object"];
  if (!Number.isInteger(meta.Timestamp) || meta.Timestamp < 1e12) problems.push("_aws.Timestamp is not milliseconds since the epoch");
  if (!Array.isArray(meta.CloudWatchMetrics)) return [...problems, "_aws.CloudWatchMetrics is not an array"];
  meta.CloudWatchMetrics.forEach((d, i) => {
    const at = `CloudWatchMetrics[${i}]`;
    if (typeof d.Namespace !== "string" || d.Namespace.length < 1 || d.Namespace.length > 1024) problems.push(`${at}.Namespace`);
    if (!Array.isArray(d.Dimensions) || d.Dimensions.length < 1) problems.push(`${at}.Dimensions: at least one dimension set`);
    for (const set of d.Dimensions ?? []) {
      if (!Array.isArray(set) || set.length > 30) problems.push(`${at}: a dimension set is not an array of at most 30 keys`);
      for (const key of set ?? []) {
        const value = doc[key];
        if (typeof value !== "string" || value.length > 1024) problems.push(`${at}: dimension ${key} is not a string member of the root`);
      }
    }
    if (!Array.isArray(d.Metrics) || d.Metrics.length > 100) problems.push(`${at}.Metrics: an array of at most 100 definitions`);
    for (const m of d.Metrics ?? []) {
      const value = doc[m.Name];
      const ok = isNumber(value) || (Array.isArray(value) && value.length >= 1 && value.length <= 100 && value.every(isNumber));
      if (!ok) problems.push(`${at}: metric ${m.Name} is not a number or an array of 1-100 numbers at the root`);
      if (m.Unit !== undefined && !EMF_UNITS.has(m.Unit)) problems.push(`${at}: unit ${m.Unit} of ${m.Name}`);
      if (m.StorageResolution !== undefined && ![1, 60].includes(m.StorageResolution)) problems.push(`${at}: StorageResolution of ${m.Name}`);
    }
  });
  return problems;
}

/** A datapoint a record publishes: its metric, its dimensions (name to value), its value(s), its time. */
export interface Datapoint {
  readonly metric: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly values: readonly number[];
  readonly timestamp: number;
}

/** Every datapoint of every record (one per metric and dimension set). */
export function datapoints(records: readonly EmfRecord[]): Datapoint[] {
  return records.flatMap((doc) =>
    doc._aws.CloudWatchMetrics.flatMap((d) =>
      d.Dimensions.flatMap((set) =>
        d.Metrics.map((m) => {
          const value = doc[m.Name] as number | number[];
          return {
            metric: m.Name,
            dimensions: Object.fromEntries(set.map((key) => [key, doc[key] as string])),
            values: Array.isArray(value) ? value : [value],
            timestamp: doc._aws.Timestamp,
          };
        }),
      ),
    ),
  );
}

/** The datapoints of one metric with exactly these dimensions. */
export function series(records: readonly EmfRecord[], metric: string, dimensions: Record<string, string>): Datapoint[] {
  const wanted = JSON.stringify(Object.entries(dimensions).sort());
  return datapoints(records).filter((p) => p.metric === metric && JSON.stringify(Object.entries(p.dimensions).sort()) === wanted);
}
