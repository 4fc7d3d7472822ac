/**
 * The CloudWatch dashboard body's shapes (the `PutDashboard` API's "Dashboard Body Structure and Syntax"), as typed
 * objects serialized with `JSON.stringify`.
 */

/** A metric search expression or metric math entry of a metric widget. */
export interface MetricExpression {
  readonly expression: string;
  /** Lowercase id, unique in the widget. */
  readonly id: string;
  readonly label?: string;
  readonly period?: number;
  /** false: computed but not drawn (an input of another expression). */
  readonly visible?: boolean;
}

/** A metric of a metric widget: namespace, name, then dimension name/value pairs, optionally rendering options. */
export type MetricArray = readonly (string | { readonly stat?: string; readonly label?: string })[];

export interface HorizontalAnnotation {
  readonly value: number;
  readonly label: string;
  readonly color?: string;
}

export interface MetricWidgetProperties {
  readonly title: string;
  readonly region: string;
  readonly view: "timeSeries" | "singleValue";
  readonly stacked?: boolean;
  readonly period?: number;
  readonly stat?: string;
  readonly metrics: readonly (MetricArray | readonly [MetricExpression])[];
  readonly yAxis?: { readonly left?: { readonly min?: number; readonly max?: number; readonly label?: string; readonly showUnits?: boolean } };
  readonly annotations?: { readonly horizontal?: readonly HorizontalAnnotation[] };
}

export interface LogWidgetProperties {
  readonly title: string;
  readonly region: string;
  /** Logs Insights query, starting with `SOURCE '<log group>' |`. */
  readonly query: string;
  readonly view: "table" | "timeSeries" | "bar";
}

export interface TextWidgetProperties {
  readonly markdown: string;
}

export interface Placement {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export type DashboardWidget =
  | (Placement & { readonly type: "metric"; readonly properties: MetricWidgetProperties })
  | (Placement & { readonly type: "log"; readonly properties: LogWidgetProperties })
  | (Placement & { readonly type: "text"; readonly properties: TextWidgetProperties });

export interface DashboardBody {
  /** `-3h`: what the dashboard opens on. */
  readonly start: string;
  readonly periodOverride: "auto" | "inherit";
  readonly widgets: readonly DashboardWidget[];
}

/** What the dashboard shows. */
