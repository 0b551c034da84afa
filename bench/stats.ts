/** Summary statistics the report shows for every figure: the median of the runs, with their min and max. */
export interface Figure {
  median: number;
  min: number;
  max: number;
  /** the value of each measured run, in run order */
  runs: number[];
}

export function figure(values: readonly number[]): Figure {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, runs: [...values] };
  return { median: quantile(finite, 0.5), min: Math.min(...finite), max: Math.max(...finite), runs: [...values] };
}

/** Linear-interpolated quantile (q in 0..1) of unsorted values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  const lowValue = sorted[low] as number;
  return lowValue + ((sorted[high] as number) - lowValue) * (at - low);
}

/** Quantiles of an already sorted array, without copying (for latency samples of 100k+ events). */
export function sortedQuantile(sorted: Float64Array | readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  const lowValue = sorted[low] as number;
  return lowValue + ((sorted[high] as number) - lowValue) * (at - low);
}

/** The ratio of two figures' medians, with the spread of the run-by-run ratios when both have the same number of runs. */
export function ratioFigure(numerator: Figure, denominator: Figure): Figure {
  if (numerator.runs.length === denominator.runs.length && numerator.runs.length > 0) {
    return { ...figure(numerator.runs.map((v, i) => v / (denominator.runs[i] as number))), median: numerator.median / denominator.median };
  }
  const median = numerator.median / denominator.median;
  return { median, min: numerator.min / denominator.max, max: numerator.max / denominator.min, runs: [] };
}
