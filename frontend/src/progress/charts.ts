/**
 * Charts with uPlot (canvas, drawn by the library): words over time, activity per day and the
 * dashboard's sparklines. Each chart sits in a `role="img"` box labelled with its text
 * alternative (`describeChart`), so a screen reader hears the figures the canvas shows.
 */

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { h } from "../dom";
import { daySeconds, describeChart, type ChartData } from "./series";

export interface Chart {
  element: HTMLElement;
  /** uPlot listens on the window: a chart that leaves the page must be destroyed. */
  destroy(): void;
}

const COLORS = ["#2f6fde", "#d9480f", "#2b8a3e", "#ae3ec9", "#e8590c", "#0b7285", "#5c940d", "#c2255c"];
const DAY = 86_400;

export interface ChartOptions {
  title: string;
  unit: string;
  kind: "line" | "bars";
  width: number;
  height: number;
}

/** The time axis from the first day to the last; one day alone, with a day either side. */
function dayRange(days: string[], pad = 0): uPlot.Range.MinMax {
  const first = daySeconds(days[0]);
  const last = daySeconds(days[days.length - 1]);
  return first === last ? [first - DAY, last + DAY] : [first - pad, last + pad];
}

function seriesOptions(data: ChartData, kind: ChartOptions["kind"]): uPlot.Series[] {
  const bars = kind === "bars" ? uPlot.paths.bars?.({ size: [0.6, 40] }) : undefined;
  return [
    {},
    ...data.series.map((s, i) => ({
      label: s.label,
      stroke: COLORS[i % COLORS.length],
      fill: kind === "bars" ? `${COLORS[i % COLORS.length]}99` : undefined,
      width: i === 0 && kind === "line" ? 2.5 : 1.5,
      points: { show: data.days.length < 3 },
      paths: bars,
    })),
  ];
}

function plotData(data: ChartData): uPlot.AlignedData {
  return [data.days.map(daySeconds), ...data.series.map((s) => s.values)];
}

export function timeChart(data: ChartData, options: ChartOptions): Chart {
  const label = describeChart(options.title, data, options.unit);
  const box = h("div", { class: "chart-canvas", role: "img", "aria-label": label });
  const element = h("figure", { class: "chart" }, h("figcaption", {}, options.title), box);
  if (data.days.length === 0) {
    box.append(h("p", { class: "muted" }, "Nothing counted yet."));
    return { element, destroy: () => {} };
  }
  const plot = new uPlot(
    {
      width: options.width,
      height: options.height,
      scales: { x: { time: true, range: dayRange(data.days) } },
      axes: [{}, { label: options.unit, size: 56 }],
      series: seriesOptions(data, options.kind),
    },
    plotData(data),
    box,
  );
  return { element, destroy: () => plot.destroy() };
}

/** A small line of the last days' words, no axes or legend: the dashboard's per-row chart. */
export function sparkline(days: string[], values: (number | null)[], label: string): Chart {
  const box = h("div", { class: "sparkline", role: "img", "aria-label": label });
  if (!values.some((v) => v !== null)) {
    box.append(h("span", { class: "muted small" }, "—"));
    return { element: box, destroy: () => {} };
  }
  const plot = new uPlot(
    {
      width: 120,
      height: 32,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: true, range: dayRange(days, DAY / 2) } },
      axes: [{ show: false }, { show: false }],
      // A point for each count while there are few (a line needs two).
      series: [{}, { stroke: COLORS[0], width: 1.5, points: { show: values.filter((v) => v !== null).length < 3, size: 5 } }],
    },
    [days.map(daySeconds), values],
    box,
  );
  return { element: box, destroy: () => plot.destroy() };
}

/** Charts made for one drawing of a page, destroyed together before the next. */
export class ChartSet {
  private charts: Chart[] = [];

  add(chart: Chart): HTMLElement {
    this.charts.push(chart);
    return chart.element;
  }

  clear(): void {
    for (const chart of this.charts.splice(0)) chart.destroy();
  }
}
