/** One timed run: how many items it processed and how long it took. */
export interface Sample {
  items: number;
  ms: number;
}

export interface Measurement {
  /** Median items per second over the runs. */
  perSec: number;
  runs: number;
  items: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
}

/**
 * Run `task` `runs` times after `warmup` untimed runs and report the median rate. Each run returns the
 * number of items it processed, so a task that silently does nothing reports 0/s rather than a fast time.
 */
export async function measure(
  task: () => number | Promise<number>,
  options: { runs: number; warmup: number },
): Promise<Measurement> {
  for (let i = 0; i < options.warmup; i++) await task();
  const samples: Sample[] = [];
  for (let i = 0; i < options.runs; i++) {
    globalThis.gc?.();
    const start = performance.now();
    const items = await task();
    samples.push({ items, ms: performance.now() - start });
  }
  return summarize(samples);
}

export function summarize(samples: Sample[]): Measurement {
  if (samples.length === 0) throw new Error('no samples to summarize');
  const sorted = [...samples].sort((a, b) => a.ms - b.ms);
  const median = sorted[Math.floor(sorted.length / 2)] as Sample;
  return {
    perSec: round((median.items / median.ms) * 1000),
    runs: samples.length,
    items: median.items,
    medianMs: round(median.ms),
    minMs: round((sorted[0] as Sample).ms),
    maxMs: round((sorted[sorted.length - 1] as Sample).ms),
  };
}

/** The p-th percentile (0-100) of a list of numbers, nearest-rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export const round = (n: number): number => (Number.isFinite(n) ? Math.round(n * 10) / 10 : 0);

/** Peak resident set size of this process so far, in MB. */
export function peakRssMb(): number {
  return round(process.resourceUsage().maxRSS / 1024);
}
