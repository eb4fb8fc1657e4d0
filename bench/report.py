"""Turn load results into the printed tables, the Widen-versus-reference ratios, and Widen on
several processes against one."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil

from loadgen import LoadResult

MIB = 1024 * 1024
# Beyond these, the load generator was not keeping time or the machine was shared, and the
# latency tail measures that rather than the server.
LAG_WARN_MS = 10.0
OTHERS_WARN_CORES = 0.25
# Issue 12: Widen's p99 with a room's clients split over two processes, at most this many times
# its p99 on one process (same PostgreSQL + Redis setup, same load).
CLUSTER_P99_TARGET = 2.0


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def cpu_us_per_delivery(result: LoadResult) -> float:
    """Server CPU in the window divided by the deliveries that landed in the window."""
    if result.received_in_window == 0:
        return math.nan
    return result.server_cpu_s * 1e6 / result.received_in_window


def service_us_per_edit(result: LoadResult, service: str) -> float:
    """A service's CPU in the window divided by the edits sent (all are sent in the window)."""
    if result.sent == 0:
        return math.nan
    return result.service_cpu_s[service] * 1e6 / result.sent


def others_cpu_s(result: LoadResult) -> float:
    """CPU seconds taken in the window by processes other than the server, the services it
    stands on (each counted once), and the load generator."""
    services = sum(
        cpu_s for name, cpu_s in result.service_cpu_s.items() if result.service_within[name] is None
    )
    ours = result.server_cpu_s + services + result.loadgen_cpu_s
    return max(0.0, result.machine_busy_s - ours)


def verdict(result: LoadResult) -> str:
    """'ok' only if nothing was lost and every room converged to the full text."""
    problems = []
    if result.received != result.expected:
        problems.append(f"{result.expected - result.received} deliveries missing")
    failed = result.spec.rooms - result.verified_rooms
    if failed:
        problems.append(f"{failed} rooms failed verification")
    if result.unexpected_closes:
        problems.append(f"{result.unexpected_closes} sockets closed by the server")
    return "ok" if not problems else "FAILED: " + "; ".join(problems)


def contention(result: LoadResult) -> str:
    """Whether the run's latency figures can be trusted, judged from what was measured."""
    lag_p99 = percentile(result.schedule_lag_ms, 99)
    others = others_cpu_s(result) / (result.window_s or math.nan)
    notes = []
    if lag_p99 > LAG_WARN_MS:
        notes.append(f"loadgen timers late by {lag_p99:.0f} ms at p99")
    if others > OTHERS_WARN_CORES:
        notes.append(f"other processes used {others:.2f} cores")
    if not notes:
        return "none seen"
    return "WARNING: " + "; ".join(notes) + " (latency tail is not only the server's)"


@dataclass(frozen=True)
class Figures:
    """The compared figures of one run, or the medians of several."""

    cpu_us: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    # CPU per edit of each service the server stands on (µs), e.g. {"Redis": 12.0}.
    service_us: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, result: LoadResult) -> Figures:
        lat = result.latencies_ms
        return cls(
            cpu_us_per_delivery(result),
            percentile(lat, 50),
            percentile(lat, 99),
            percentile(lat, 100),
            {name: service_us_per_edit(result, name) for name in result.service_cpu_s},
        )

    @classmethod
    def median(cls, results: Sequence[LoadResult]) -> Figures:
        runs = [cls.of(r) for r in results]
        return cls(
            statistics.median(f.cpu_us for f in runs),
            statistics.median(f.p50_ms for f in runs),
            statistics.median(f.p99_ms for f in runs),
            statistics.median(f.max_ms for f in runs),
            {
                name: statistics.median(f.service_us[name] for f in runs)
                for name in runs[0].service_us
            },
        )


def table(result: LoadResult, title: str) -> str:
    """A two-column table of one run's figures."""
    spec = result.spec
    figures = Figures.of(result)
    lag = result.schedule_lag_ms
    window = result.window_s or math.nan
    load = (
        f"{spec.rooms} rooms x {spec.clients} clients x {spec.hz:g} Hz x {spec.duration:g} s, "
        f"{spec.workers} loadgen process(es)"
    )
    rows = [
        ("server", result.description),
        ("load", load),
        ("websocket extensions", ", ".join(result.extensions) or "none"),
        ("connect + sync all clients", f"{result.connect_s:.2f} s"),
        ("edits sent", f"{result.sent}"),
        ("deliveries expected", f"{result.expected}  (each edit to the {spec.clients - 1} others)"),
        ("deliveries received", f"{result.received}  ({result.received_in_window} in window)"),
        ("converged + complete", verdict(result)),
        (
            "latency p50 / p99 / max",
            f"{figures.p50_ms:.2f} / {figures.p99_ms:.2f} / {figures.max_ms:.2f} ms",
        ),
        (
            "server CPU in window",
            f"{result.server_cpu_s:.2f} s of {window:.2f} s "
            f"({result.server_cpu_s / window:.0%} of a core)",
        ),
        ("server CPU per delivery", f"{figures.cpu_us:.1f} us"),
        *(
            (f"{name} CPU in window", f"{cpu_s:.2f} s, {figures.service_us[name]:.1f} us/edit "
             f"({_service_processes(result, name)})")
            for name, cpu_s in result.service_cpu_s.items()
        ),
        (
            "server RSS idle / end / peak",
            f"{result.rss_idle / MIB:.0f} / {result.rss_end / MIB:.0f} / "
            f"{result.rss_peak / MIB:.0f} MiB",
        ),
        (
            "loadgen CPU in window",
            f"{result.loadgen_cpu_s:.2f} s ({result.loadgen_cpu_s / window:.0%} of a core)",
        ),
        (
            "other processes in window",
            f"{others_cpu_s(result):.2f} s ({others_cpu_s(result) / window:.0%} of a core; "
            f"machine has {psutil.cpu_count()} cores)",
        ),
        (
            "loadgen GC pauses total / max",
            f"{sum(result.gc_pause_ms):.0f} / {max(result.gc_pause_ms, default=0):.0f} ms",
        ),
        (
            "loadgen timer lag p99 / max",
            f"{percentile(lag, 99):.2f} / {percentile(lag, 100):.2f} ms",
        ),
        ("contention", contention(result)),
        *(
            [("server log events", ", ".join(f"{n} {c}" for n, c in result.server_events.items()))]
            if result.server_events
            else []
        ),
        ("messages in / out (clients)", f"{result.messages_in} / {result.messages_out}"),
        ("drain after window", f"{result.drain_ms:.0f} ms"),
    ]
    for failure in result.failed_rooms[:3]:
        rows.append(("failed room", f"{failure['room']}: {'; '.join(failure['problems'])}"))
    for close in result.close_samples[:3]:
        rows.append(("closed by server", f"{close['room']}: {close['code']} {close['reason']}"))
    width = max(len(name) for name, _ in rows)
    return "\n".join([f"== {title} ==", *(f"  {name:<{width}}  {value}" for name, value in rows)])


def _service_processes(result: LoadResult, name: str) -> str:
    """How many processes a service's figure was read from, and what else it holds."""
    seen = result.service_processes[name]
    notes = [
        f"{seen} processes; {result.service_processes_started[name]} started, "
        f"{result.service_processes_ended[name]} ended in the window"
        if seen > 1
        else f"{seen} process"
    ]
    if result.service_remarks[name]:
        notes.append(result.service_remarks[name])
    return "; ".join(notes)


def summary(results: Mapping[str, Sequence[LoadResult]]) -> str:
    """Median figures per server over its runs (the runs were interleaved across servers)."""
    lines = ["== median over runs =="]
    lines.append(
        f"  {'server':<8} {'runs':>4} {'CPU us/deliv':>12} {'p50 ms':>8} {'p99 ms':>9} "
        f"{'max ms':>9}  all ok"
    )
    for name, runs in results.items():
        fig = Figures.median(runs)
        ok = all(verdict(r) == "ok" for r in runs)
        services = "".join(f"  {n} {us:.1f} us/edit" for n, us in fig.service_us.items())
        lines.append(
            f"  {name:<8} {len(runs):>4} {fig.cpu_us:>12.1f} {fig.p50_ms:>8.2f} "
            f"{fig.p99_ms:>9.2f} {fig.max_ms:>9.2f}  {'yes' if ok else 'NO '}{services}"
        )
    return "\n".join(lines)


def ratios(subject: str, figures: Mapping[str, Figures], references: Sequence[str]) -> str:
    """subject / reference for CPU per delivery, p50 and p99 (below 1 = subject better)."""
    mine = figures[subject]
    lines = [f"== {subject} / reference (below 1.00 means {subject} is better) =="]
    for ref in references:
        theirs = figures[ref]
        lines.append(
            f"  vs {ref:<7} CPU/delivery x{mine.cpu_us / theirs.cpu_us:.2f}   "
            f"p50 x{mine.p50_ms / theirs.p50_ms:.2f}   p99 x{mine.p99_ms / theirs.p99_ms:.2f}"
        )
    return "\n".join(lines)


def cluster_ratio(single: str, several: str, figures: Mapping[str, Figures]) -> str:
    """Widen on several processes against one (same setup and load): latency and CPU ratios,
    each service's CPU per edit, and whether p99 meets the target."""
    one, many = figures[single], figures[several]
    ratio = many.p99_ms / one.p99_ms
    met = "met" if ratio <= CLUSTER_P99_TARGET else "NOT met"
    lines = [
        f"== {several} / {single} (several processes against one) ==",
        f"  p50 x{many.p50_ms / one.p50_ms:.2f}   p99 x{ratio:.2f} "
        f"(target <= x{CLUSTER_P99_TARGET:g}: {met})   "
        f"server CPU/delivery x{many.cpu_us / one.cpu_us:.2f}",
    ]
    for name in many.service_us:
        lines.append(
            f"  {name} CPU per edit: {many.service_us[name]:.1f} us ({several}) vs "
            f"{one.service_us.get(name, math.nan):.1f} us ({single})"
        )
    return "\n".join(lines)


def summary_json(result: LoadResult) -> dict[str, Any]:
    """The result without raw samples, plus the derived figures, for bench/results/."""
    data = asdict(result)
    for raw in ("latencies_ms", "schedule_lag_ms", "gc_pause_ms"):
        data.pop(raw)
    figures = Figures.of(result)
    data.update(
        latency_p50_ms=figures.p50_ms,
        latency_p99_ms=figures.p99_ms,
        latency_max_ms=figures.max_ms,
        cpu_us_per_delivery=figures.cpu_us,
        service_us_per_edit=figures.service_us,
        loadgen_lag_p99_ms=percentile(result.schedule_lag_ms, 99),
        others_cpu_s=others_cpu_s(result),
        verdict=verdict(result),
        contention=contention(result),
    )
    return data
