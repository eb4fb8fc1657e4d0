/**
 * Chart data from the progress report's numbers: the server counts, the page only arranges
 * them into series for the charts and into a sentence for readers who cannot see a chart.
 */

import type { Progress } from "../api";

export interface Series {
  label: string;
  values: (number | null)[];
}

/** Days (ISO dates, oldest first) and one or more series of values, one per day. */
export interface ChartData {
  days: string[];
  series: Series[];
}

/** Seconds since the epoch of an ISO day, at midnight UTC: uPlot's time axis. */
export function daySeconds(day: string): number {
  return Date.parse(`${day}T00:00:00Z`) / 1000;
}

/** Words per day in all and per live section (a section added later starts empty). */
export function wordsOverTime(p: Progress): ChartData {
  const days = p.words_series.map((d) => d.day);
  return {
    days,
    series: [
      { label: "All sections", values: p.words_series.map((d) => d.words) },
      ...p.sections.map((s) => ({ label: s.title, values: p.words_series.map((d) => d.sections[s.id] ?? null) })),
    ],
  };
}

/** Characters written and deleted per day, by everyone. */
export function activityPerDay(p: Progress): ChartData {
  return {
    days: p.activity.map((a) => a.day),
    series: [
      { label: "Characters written", values: p.activity.map((a) => a.chars_inserted) },
      { label: "Characters deleted", values: p.activity.map((a) => a.chars_deleted) },
    ],
  };
}

/** The text alternative of a chart: per series, its first and last value and the days. */
export function describeChart(title: string, data: ChartData, unit: string): string {
  if (data.days.length === 0) return `${title}: no data yet.`;
  const span = data.days.length === 1 ? `on ${data.days[0]}` : `from ${data.days[0]} to ${data.days[data.days.length - 1]}`;
  const parts = data.series.map((s) => {
    const known = s.values.filter((v): v is number => v !== null);
    if (known.length === 0) return `${s.label}: none`;
    return known.length === 1 || known[0] === known[known.length - 1]
      ? `${s.label}: ${known[known.length - 1]} ${unit}`
      : `${s.label}: ${known[0]} to ${known[known.length - 1]} ${unit}`;
  });
  return `${title}, ${span}. ${parts.join("; ")}.`;
}

/** The trend of a dashboard row as the change over its days, or null before any count. */
export function trendChange(trend: (number | null)[]): number | null {
  const known = trend.filter((v): v is number => v !== null);
  return known.length ? known[known.length - 1] - known[0] : null;
}
