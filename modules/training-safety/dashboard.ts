/**
 * The environment's CloudWatch dashboard, as typed objects (the body format of the CloudWatch `PutDashboard` API:
 * "Dashboard Body Structure and Syntax"), serialized with `JSON.stringify`.
 *
 * Values may be Terraform tokens (the region, the function's name, the fleet's group): they are plain strings without
 * quotes or backslashes, so the serialized JSON stays valid once Terraform interpolates them. (cdktf's
 * `Fn.jsonencode` does not escape double quotes inside strings, which the metric search expressions need.)
 *
 * The GPU, CPU, memory and disk graphs use metric search expressions over the env's own namespace
 * (`GpuTraining/<env>`, written by the CloudWatch agent of every instance, single or fleet), so they need no instance
 * id and show every instance the env runs. The training progress graphs (step rate, loss, ETA, minutes since the last
 * new step) search the runtime's per-run metrics (dimension `RunId`, `runtime/lib/progress.py`): one line per run.
 * AWS/EC2 metrics carry no tags: network is shown for the single instance by its id (known to Terraform) and for the
 * fleet by its group.
 */
import { PROGRESS_METRICS, RUN_ID_DIMENSION } from "../training-compute/contract";
import type {
  DashboardBody,
  DashboardWidget,
  MetricArray,
  MetricExpression,
  MetricWidgetProperties,
  Placement,
  TextWidgetProperties,
} from "./dashboard-types";

export type * from "./dashboard-types";

export interface SafetyDashboardOptions {
  readonly project: string;
  readonly environment: string;
  /** Region of every widget (a token is fine). */
  readonly region: string;
  /** The CloudWatch agent's namespace, `GpuTraining/<env>`. */
  readonly metricsNamespace: string;
  /** The instances' log group, `/gpu-training/<env>`. */
  readonly trainingLogGroup: string;
  /** The guard function's name and its log group. */
  readonly guardFunctionName: string;
  readonly guardLogGroup: string;
  /** The single instance's id, or a placeholder matching nothing when there is none (a token). */
  readonly singleInstanceId: string;
  /** The idle-GPU threshold drawn on the GPU graph. @default none (no idle alarm) */
  readonly idleThresholdPercent?: number;
  /** The env's stall minutes (`GTI_STALL_MINUTES`), drawn on the time-since-last-step graph. @default 30 */
  readonly stallMinutes?: number;
  /** Whether the stalled-run alarm exists (its threshold's label says so). @default false */
  readonly stalledRunAlarm?: boolean;
  /** The fleet's auto scaling group name, when the env has a fleet. */
  readonly fleetGroupName?: string;
}

/** Metric period of the graphs (seconds): the agent samples every minute; 5 minutes keeps lines readable. */
export const DASHBOARD_PERIOD = 300;

/** Width of the dashboard grid. */
const GRID = 24;

/** `SEARCH('{<namespace>,InstanceId} MetricName="<metric>"', '<stat>', 300)`: the agent's per-instance aggregate. */
export function agentSearch(namespace: string, metric: string, stat: string): string {
  return `SEARCH('{${namespace},InstanceId} MetricName="${metric}"', '${stat}', ${DASHBOARD_PERIOD})`;
}

/** `SEARCH('{<namespace>,RunId} MetricName="<metric>"', '<stat>', 300)`: a training progress metric, one line per run. */
export function runSearch(namespace: string, metric: string, stat: string): string {
  return `SEARCH('{${namespace},${RUN_ID_DIMENSION}} MetricName="${metric}"', '${stat}', ${DASHBOARD_PERIOD})`;
}

/**
 * Logs Insights: what the runtime guard did or reported (every line naming an instance, except "kept"), and the
 * spot/rebalance alerts it forwarded.
 */
export function guardActionsQuery(logGroup: string): string {
  return [
    `SOURCE '${logGroup}'`,
    "fields @timestamp, level, message, instanceId, action, autoScalingGroup, dryRun, error.name as errorName",
    "filter ispresent(instanceId) and message not like /within its limit/ and message not like /instance event received/",
    "sort @timestamp desc",
    "limit 100",
  ].join(" | ");
}

/** Logs Insights: error-looking lines of the training, setup and runtime logs (`<instance id>/<stream>`). */
export function trainingErrorsQuery(logGroup: string): string {
  return [
    `SOURCE '${logGroup}'`,
    "fields @timestamp, @logStream, @message",
    // Not the metrics stream (<instance id>/metrics): its EMF records hold metric names, not messages.
    "filter @logStream not like /metrics$/ and @message like /(?i)(error|exception|traceback|out of memory|cuda error|nan loss|killed)/",
    "sort @timestamp desc",
    "limit 100",
  ].join(" | ");
}

/**
 * The dashboard: GPU, training progress per run (step rate, loss, ETA, minutes since the last new step), memory, CPU,
 * disk, network, the guard's actions and health, training log errors, the fleet.
 */
export function safetyDashboardBody(o: SafetyDashboardOptions): DashboardBody {
  const metric = (title: string, metrics: MetricWidgetProperties["metrics"], extra: Partial<MetricWidgetProperties> = {}): MetricWidgetProperties => ({
    title,
    region: o.region,
    view: "timeSeries",
    stacked: false,
    period: DASHBOARD_PERIOD,
    metrics,
    ...extra,
  });
  const search = (id: string, metricName: string, stat: string, label?: string): readonly [MetricExpression] => [
    { expression: agentSearch(o.metricsNamespace, metricName, stat), id, ...(label ? { label } : {}) },
  ];
  const percentAxis = { left: { min: 0, max: 100, label: "%", showUnits: false } };
  const progress = (id: string, metricName: string, stat: string): readonly [MetricExpression] => [
    { expression: runSearch(o.metricsNamespace, metricName, stat), id },
  ];

  const intro: TextWidgetProperties = {
    markdown: [
      `## ${o.project} / ${o.environment}: GPU training`,
      `Every instance of the env (single and fleet) from the CloudWatch agent (\`${o.metricsNamespace}\`), the runtime guard (\`${o.guardFunctionName}\`) and the training logs (\`${o.trainingLogGroup}\`).`,
      "A GPU flat at 0% while the bill runs is what the idle-GPU alarm and the runtime guard stop; a run whose steps stopped (busy GPUs, no progress) is what the stalled-run alarm stops. Training progress appears once the training code reports it (runtime/README.md, \"Progress contract\"). Alerts go to the env's SNS topic (output `alerts_topic_arn`).",
    ].join("\n\n"),
  };

  const rows: DashboardWidget[][] = [
    [{ type: "text", x: 0, y: 0, width: GRID, height: 3, properties: intro }],
    [
      {
        type: "metric",
        ...cell(0, 12, 6),
        properties: metric("GPU utilisation (%), busiest GPU per instance", [search("gpu", "nvidia_smi_utilization_gpu", "Maximum")], {
          yAxis: percentAxis,
          ...(o.idleThresholdPercent !== undefined
            ? { annotations: { horizontal: [{ value: o.idleThresholdPercent, label: "idle-GPU alarm threshold", color: "#d62728" }] } }
            : {}),
        }),
      },
      {
        type: "metric",
        ...cell(12, 12, 6),
        properties: metric("GPU memory used (MiB), per instance", [search("gpumem", "nvidia_smi_memory_used", "Maximum")]),
      },
    ],
    [
      {
        type: "metric",
        ...cell(0, 6, 6),
        properties: metric("Training step rate (steps/s), per run", [progress("rate", PROGRESS_METRICS.stepsPerSecond, "Average")]),
      },
      {
        type: "metric",
        ...cell(6, 6, 6),
        properties: metric("Training loss, per run", [progress("loss", PROGRESS_METRICS.loss, "Average")]),
      },
      {
        type: "metric",
        ...cell(12, 6, 6),
        properties: metric("ETA (hours), per run", [
          [{ expression: runSearch(o.metricsNamespace, PROGRESS_METRICS.etaSeconds, "Minimum"), id: "eta", visible: false }],
          [{ expression: "eta/3600", id: "etah", label: "" }],
        ], { yAxis: { left: { min: 0, label: "hours", showUnits: false } } }),
      },
      {
        type: "metric",
        ...cell(18, 6, 6),
        properties: metric("Minutes since the last new step, per run", [
          [{ expression: runSearch(o.metricsNamespace, PROGRESS_METRICS.secondsSinceProgress, "Maximum"), id: "since", visible: false }],
          [{ expression: "since/60", id: "sincem", label: "" }],
        ], {
          yAxis: { left: { min: 0, label: "minutes", showUnits: false } },
          annotations: {
            horizontal: [
              { value: o.stallMinutes ?? 30, label: o.stalledRunAlarm ? "stalled-run alarm (env's stall minutes)" : "stall minutes (no alarm)", color: "#d62728" },
            ],
          },
        }),
      },
    ],
    [
      {
        type: "metric",
        ...cell(0, 8, 6),
        properties: metric("CPU used (%)", [search("cpu", "cpu_usage_active", "Average")], { yAxis: percentAxis }),
      },
      {
        type: "metric",
        ...cell(8, 8, 6),
        properties: metric("Memory used (%)", [search("mem", "mem_used_percent", "Maximum")], { yAxis: percentAxis }),
      },
      {
        type: "metric",
        ...cell(16, 8, 6),
        properties: metric("Disk used (%), fullest of / and the NVMe scratch", [search("disk", "disk_used_percent", "Maximum")], { yAxis: percentAxis }),
      },
    ],
    [
      {
        type: "metric",
        ...cell(0, 12, 6),
        properties: metric("Network (bytes per 5 min)", [
          ["AWS/EC2", "NetworkIn", "InstanceId", o.singleInstanceId, { stat: "Sum", label: "single instance in" }],
          ["AWS/EC2", "NetworkOut", "InstanceId", o.singleInstanceId, { stat: "Sum", label: "single instance out" }],
          ...(o.fleetGroupName
            ? [
                ["AWS/EC2", "NetworkIn", "AutoScalingGroupName", o.fleetGroupName, { stat: "Sum", label: "fleet in" }] as MetricArray,
                ["AWS/EC2", "NetworkOut", "AutoScalingGroupName", o.fleetGroupName, { stat: "Sum", label: "fleet out" }] as MetricArray,
              ]
            : []),
        ]),
      },
      {
        type: "metric",
        ...cell(12, 12, 6),
        properties: metric("Runtime guard: invocations and errors", [
          ["AWS/Lambda", "Invocations", "FunctionName", o.guardFunctionName, { stat: "Sum" }],
          ["AWS/Lambda", "Errors", "FunctionName", o.guardFunctionName, { stat: "Sum" }],
        ]),
      },
    ],
    [
      {
        type: "log",
        ...cell(0, GRID, 6),
        properties: { title: "Runtime guard: instances acted on or reported, spot alerts", region: o.region, query: guardActionsQuery(o.guardLogGroup), view: "table" },
      },
    ],
    [
      {
        type: "log",
        ...cell(0, GRID, 6),
        properties: { title: "Training log errors", region: o.region, query: trainingErrorsQuery(o.trainingLogGroup), view: "table" },
      },
    ],
  ];
  if (o.fleetGroupName) {
    const group = o.fleetGroupName;
    rows.push([
      {
        type: "metric",
        ...cell(0, GRID, 6),
        properties: metric(`Fleet ${group}: instances (auto scaling group metrics)`, [
          ["AWS/AutoScaling", "GroupDesiredCapacity", "AutoScalingGroupName", group, { stat: "Maximum" }],
          ["AWS/AutoScaling", "GroupInServiceInstances", "AutoScalingGroupName", group, { stat: "Maximum" }],
          ["AWS/AutoScaling", "GroupPendingInstances", "AutoScalingGroupName", group, { stat: "Maximum" }],
          ["AWS/AutoScaling", "GroupTerminatingInstances", "AutoScalingGroupName", group, { stat: "Maximum" }],
        ]),
      },
    ]);
  }
  // Rows stack vertically: each row starts below the tallest widget of the previous one.
  let y = 0;
  const widgets = rows.flatMap((row) => {
    const placed = row.map((w) => ({ ...w, y }));
    y += Math.max(...row.map((w) => w.height));
    return placed;
  });
  return { start: "-PT3H", periodOverride: "auto", widgets };
}

function cell(x: number, width: number, height: number): Placement {
  return { x, y: 0, width, height };
}
