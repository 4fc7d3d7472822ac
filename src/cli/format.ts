/** Plain-text formatting for `gti`: tables, sizes, durations, money, times, sparklines. Pure functions. */

/** Left-aligned columns separated by two spaces; `headers` first. Cells are strings already. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** `1.5 GiB`, `312 B`: binary units, one decimal from KiB up. */
export function bytes(count: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `2h 05m`, `4m 10s`, `35s`, `3d 4h`. */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

/** `$1.006`, `$12.34`, `$0.40`, `$0.0382`: cents from $10 up, up to 4 decimals below (never fewer than 2). */
export function usd(amount: number): string {
  const abs = Math.abs(amount);
  let text: string;
  if (abs >= 10) text = abs.toFixed(2);
  else {
    text = abs.toFixed(4).replace(/0+$/, "");
    const decimals = text.length - text.indexOf(".") - 1;
    if (decimals < 2) text = abs.toFixed(2);
  }
  return `${amount < 0 ? "-" : ""}$${text}`;
}

/** `2026-12-07 13:05 UTC`. */
export function utc(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** `5m ago`, `2h 10m ago`. */
export function ago(date: Date, now: Date): string {
  return `${duration(now.getTime() - date.getTime())} ago`;
}

const SPARKS = "▁▂▃▄▅▆▇█";

/**
 * One character per value on a 0..`max` scale (`▁` to `█`); a missing value (no datapoint) is a space. For GPU
 * utilisation in percent, `max` is 100.
 */
export function sparkline(values: readonly (number | undefined)[], max = 100): string {
  return values
    .map((v) => {
      if (v === undefined || Number.isNaN(v)) return " ";
      const ratio = Math.min(1, Math.max(0, v / max));
      return SPARKS[Math.min(SPARKS.length - 1, Math.floor(ratio * SPARKS.length))] ?? " ";
    })
    .join("");
}

/** Pretty JSON with a trailing newline (the `--json` output of every command). */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
