// Small statistics for the benches: percentiles over sorted samples, medians, formatting.

export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function median(values) {
  return percentile([...values].sort((a, b) => a - b), 50);
}

export const ms = (v) => (v === null || v === undefined || Number.isNaN(v) ? '–' : `${v.toFixed(0)}`);
export const ms1 = (v) => (v === null || v === undefined || Number.isNaN(v) ? '–' : `${v.toFixed(1)}`);
export const pct = (v) => (v === null || v === undefined || Number.isNaN(v) ? '–' : `${(v * 100).toFixed(2)}%`);
