"""A capacity study: every (option, growth level, seed) month lived once, stored as it comes, then
aggregated per option, level, planner and port.

The months are independent, so they fan out over processes; each one is written to the study's
directory the moment it ends (``months/<option>__g<growth>__s<seed>.json`` with the digest of what
produced it), so a study interrupted halfway continues from the months already stored, and the
same months give the same CSV byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from optimizer.study.records import MonthKey, MonthResult, Planner, PortKpis

#: Wq/S thresholds of the port-planning literature: 0.1 (a comfortable port), 0.3 (congestion
#: ships and shippers start to pay for; UNCTAD's port development handbook).
KNEE_RATIOS = (0.1, 0.3)
#: The figures aggregated over seeds (PortKpis fields), in the summary's column order.
FIGURES = (
    "calls",
    "unservable",
    "occupancy",
    "wait_mean_h",
    "wait_p95_h",
    "service_mean_h",
    "wq_over_s",
    "dwell_mean_h",
    "lateness_mean_h",
    "queue_mean",
    "littles_law_gap",
)

# Student's t, two-sided 95 % (0.975 quantile), by degrees of freedom; the normal's 1.96 beyond 30.
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def t975(df: int) -> float:
    """The 0.975 quantile of Student's t with `df` degrees of freedom."""
    if df < 1:
        raise ValueError("a confidence interval needs at least two seeds")
    return _T975[df - 1] if df <= len(_T975) else 1.96


class Interval(BaseModel):
    """A mean over seeds with its 95 % confidence half-width (None with a single seed)."""

    mean: float = Field(description="Mean over the seeds.")
    half_width: float | None = Field(
        description="95 % confidence half-width (Student's t); None with one seed."
    )
    n: int = Field(description="Seeds.")

    @classmethod
    def of(cls, values: Sequence[float]) -> Interval:
        mean = statistics.fmean(values)
        if len(values) < 2:
            return cls(mean=mean, half_width=None, n=len(values))
        return cls(
            mean=mean,
            half_width=t975(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values)),
            n=len(values),
        )


class SummaryRow(BaseModel):
    """One (option, growth, planner, port) point of the study: each figure over the seeds."""

    option: str = Field(description="The option ('base' = the ports as they are).")
    growth: float = Field(description="Traffic as a multiple of today's.")
    planner: Planner = Field(description="Who planned the months.")
    port_id: str = Field(description="The port.")
    berths: int = Field(description="Berths the port had.")
    figures: dict[str, Interval] = Field(
        description="Each PortKpis figure (calls, occupancy, wait_mean_h, wq_over_s, ...) over the seeds."
    )


class Knee(BaseModel):
    """Where a port starts to choke under one planner and option: the traffic (as growth over
    today's) and the occupancy at which mean Wq/S crosses each threshold, and at which mean waiting
    doubles from today's (growth 1.0). None: not reached within the levels studied."""

    option: str = Field(description="The option.")
    port_id: str = Field(description="The port.")
    planner: Planner = Field(description="Who planned the months.")
    growth_at: dict[str, float | None] = Field(
        description="Per threshold ('wq/s=0.1', 'wq/s=0.3', 'wait x2'): the growth at which it is crossed."
    )
    occupancy_at: dict[str, float | None] = Field(description="The occupancy there (interpolated).")
    below_lowest: list[str] = Field(
        default_factory=list,
        description="Thresholds already crossed at the lowest level studied (the knee lies below it).",
    )


class StudySpec(BaseModel):
    """What a study lives: its options, growth levels, seeds, and the settings every month runs with
    (the traffic model's overrides and the limits, whose digest marks the stored months)."""

    options: list[str] = Field(min_length=1, description="Options compared ('base' = the ports as they are).")
    growth: list[float] = Field(min_length=1, description="Traffic levels, multiples of today's.")
    seeds: list[int] = Field(min_length=1, description="Seeded months per level.")
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="What every month runs with (the "
        "traffic model, the limits); stored months with other settings are "
        "lived again.",
    )

    def months(self) -> list[MonthKey]:
        return [
            MonthKey(option=o, growth=g, seed=s)
            for o in self.options
            for g in self.growth
            for s in self.seeds
        ]

    def digest(self) -> str:
        text = json.dumps(self.settings, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


#: Lives one month: a module-level function (it crosses into worker processes) with its settings.
MonthRunner = Callable[[MonthKey], MonthResult]


class MonthStore:
    """The months of one study directory, each a JSON file written whole (temp file + rename)."""

    def __init__(self, root: Path, digest: str):
        self.dir = root / "months"
        self.digest = digest

    def path(self, key: MonthKey) -> Path:
        return self.dir / f"{key.slug()}.json"

    def load(self, key: MonthKey) -> MonthResult | None:
        """The stored month, or None when missing, unreadable or lived with other settings."""
        try:
            data = json.loads(self.path(key).read_text(encoding="utf-8"))
            if data.get("settings_digest") != self.digest:
                return None
            result = MonthResult.model_validate(data["result"])
        except (OSError, ValueError, KeyError, ValidationError):
            return None
        return result if result.key == key else None

    def save(self, result: MonthResult) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.path(result.key)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"settings_digest": self.digest, "result": result.model_dump(mode="json")}, indent=1),
            encoding="utf-8",
        )
        tmp.replace(path)


@dataclass
class StudyRun:
    """The months of a study, and how many were lived now (the rest came from the store)."""

    months: list[MonthResult]
    lived: int
    reused: int


def run_study(
    spec: StudySpec,
    root: Path,
    live: MonthRunner,
    *,
    jobs: int = 1,
    on_month: Callable[[MonthKey, bool], None] | None = None,
) -> StudyRun:
    """Live every month of the spec not already stored under `root`, `jobs` at a time, storing
    each as it ends. `on_month(key, reused)` is told of each month (a progress bar)."""
    store = MonthStore(root, spec.digest())
    found: dict[MonthKey, MonthResult] = {}
    missing: list[MonthKey] = []
    for key in spec.months():
        stored = store.load(key)
        if stored is None:
            missing.append(key)
        else:
            found[key] = stored
            if on_month:
                on_month(key, True)
    for result in _live_all(missing, live, jobs):
        store.save(result)
        found[result.key] = result
        if on_month:
            on_month(result.key, False)
    return StudyRun(
        months=[found[k] for k in spec.months()], lived=len(missing), reused=len(spec.months()) - len(missing)
    )


def _live_all(keys: list[MonthKey], live: MonthRunner, jobs: int) -> Iterator[MonthResult]:
    if jobs <= 1 or len(keys) <= 1:
        for key in keys:
            yield live(key)
        return
    with ProcessPoolExecutor(max_workers=min(jobs, len(keys))) as pool:
        pending: set[Future[MonthResult]] = {pool.submit(live, k) for k in keys}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                yield f.result()


# -- aggregation ---------------------------------------------------------------------------------


def rows(months: Iterable[MonthResult]) -> list[dict[str, Any]]:
    """One row per option x level x seed x planner x port: the raw points of the study."""
    out = []
    for m in months:
        for p in m.ports:
            out.append(
                {
                    "option": m.key.option,
                    "growth": m.key.growth,
                    "seed": m.key.seed,
                    "planner": p.planner.value,
                    "port_id": p.port_id,
                    "berths": p.berths,
                    "warmup_h": m.warmup_h,
                    "hours": m.hours,
                    **{f: getattr(p, f) for f in FIGURES},
                }
            )
    out.sort(key=lambda r: (r["option"], r["growth"], r["planner"], r["port_id"], r["seed"]))
    return out


def summarize(months: Iterable[MonthResult]) -> list[SummaryRow]:
    """Each (option, growth, planner, port) point: every figure's mean and 95 % interval over seeds."""
    groups: dict[tuple[str, float, Planner, str], list[PortKpis]] = {}
    for m in months:
        for p in m.ports:
            groups.setdefault((m.key.option, m.key.growth, p.planner, p.port_id), []).append(p)
    out = []
    for (option, growth, planner, port), kpis in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2].value, kv[0][3])
    ):
        out.append(
            SummaryRow(
                option=option,
                growth=growth,
                planner=planner,
                port_id=port,
                berths=max(k.berths for k in kpis),
                figures={f: Interval.of([float(getattr(k, f)) for k in kpis]) for f in FIGURES},
            )
        )
    return out


def _crossing(xs: Sequence[float], ys: Sequence[float], level: float) -> tuple[float | None, bool]:
    """The first x at which the piecewise-linear curve through (xs, ys) reaches `level` (linear
    interpolation between levels), and whether it is already reached at the first point."""
    if not xs:
        return None, False
    if ys[0] >= level:
        return None, True
    for (x0, y0), (x1, y1) in zip(zip(xs, ys, strict=True), zip(xs[1:], ys[1:], strict=True), strict=False):
        if y0 < level <= y1:
            return x0 + (level - y0) * (x1 - x0) / (y1 - y0), False
    return None, False


def _interp(xs: Sequence[float], ys: Sequence[float], x: float | None) -> float | None:
    if x is None:
        return None
    for (x0, y0), (x1, y1) in zip(zip(xs, ys, strict=True), zip(xs[1:], ys[1:], strict=True), strict=False):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (x - x0) * (y1 - y0) / (x1 - x0)
    return None


def knees(summary: Sequence[SummaryRow], today: float = 1.0) -> list[Knee]:
    """The knee of every (option, port, planner) curve: where mean Wq/S crosses 0.1 and 0.3, and
    where mean waiting doubles from its value at `today`'s traffic (None when today's level was not
    studied or waiting was zero there)."""
    curves: dict[tuple[str, str, Planner], list[SummaryRow]] = {}
    for r in summary:
        curves.setdefault((r.option, r.port_id, r.planner), []).append(r)
    out = []
    for (option, port, planner), points in sorted(
        curves.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2].value)
    ):
        points.sort(key=lambda r: r.growth)
        xs = [r.growth for r in points]
        occ = [r.figures["occupancy"].mean for r in points]
        growth_at: dict[str, float | None] = {}
        below: list[str] = []
        for ratio in KNEE_RATIOS:
            name = f"wq/s={ratio:g}"
            growth_at[name], early = _crossing(xs, [r.figures["wq_over_s"].mean for r in points], ratio)
            if early:
                below.append(name)
        base = next((r.figures["wait_mean_h"].mean for r in points if r.growth == today), None)
        if base is not None and base > 0:
            later = [(r.growth, r.figures["wait_mean_h"].mean) for r in points if r.growth >= today]
            growth_at["wait x2"], _ = _crossing([g for g, _ in later], [w for _, w in later], 2 * base)
        else:
            growth_at["wait x2"] = None
        out.append(
            Knee(
                option=option,
                port_id=port,
                planner=planner,
                growth_at=growth_at,
                occupancy_at={k: _interp(xs, occ, g) for k, g in growth_at.items()},
                below_lowest=below,
            )
        )
    return out


def write_csvs(months: Sequence[MonthResult], root: Path) -> tuple[Path, Path, Path]:
    """points.csv (one row per level x seed x planner x port x option), summary.csv (means and 95 %
    half-widths), knees.csv; sorted, so the same months give the same bytes."""
    import csv

    root.mkdir(parents=True, exist_ok=True)
    points, summary_path, knee_path = root / "points.csv", root / "summary.csv", root / "knees.csv"
    raw = rows(months)
    with points.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(raw[0]) if raw else ["option"])
        w.writeheader()
        w.writerows({k: _cell(v) for k, v in r.items()} for r in raw)
    summary = summarize(months)
    with summary_path.open("w", newline="", encoding="utf-8") as f:
        w2 = csv.writer(f)
        w2.writerow(
            ["option", "growth", "planner", "port_id", "berths", "seeds"]
            + [c for fig in FIGURES for c in (fig, f"{fig}_ci95")]
        )
        for s in summary:
            w2.writerow(
                [s.option, _cell(s.growth), s.planner.value, s.port_id, s.berths, s.figures["calls"].n]
                + [_cell(v) for fig in FIGURES for v in (s.figures[fig].mean, s.figures[fig].half_width)]
            )
    with knee_path.open("w", newline="", encoding="utf-8") as f:
        w3 = csv.writer(f)
        names = ["wq/s=0.1", "wq/s=0.3", "wait x2"]
        w3.writerow(
            ["option", "port_id", "planner"]
            + [c for n in names for c in (f"growth@{n}", f"occupancy@{n}")]
            + ["below_lowest_level"]
        )
        for k in knees(summary):
            w3.writerow(
                [k.option, k.port_id, k.planner.value]
                + [_cell(v) for n in names for v in (k.growth_at.get(n), k.occupancy_at.get(n))]
                + [";".join(k.below_lowest)]
            )
    return points, summary_path, knee_path


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return v
