"""The study's pictures, drawn by matplotlib (PNG and SVG): waiting and dwell against demand,
occupancy against demand, Wq/S against occupancy with the M/E2/n curve beside it, the knee marked."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from optimizer.study.capacity import KNEE_RATIOS, Knee, SummaryRow
from optimizer.study.records import Planner

COLOURS = {Planner.FCFS: "#d55e00", Planner.PORTSYNC: "#0072b2"}  # Okabe-Ito: safe for colour-blind eyes
LINES = ["-", "--", ":", "-."]  # one per option
MARKERS = {Planner.FCFS: "s", Planner.PORTSYNC: "o"}  # meaning never in colour alone


def _series(
    summary: Sequence[SummaryRow], option: str, planner: Planner, port: str, figure: str
) -> tuple[list[float], list[float], list[float], list[float]]:
    pts = sorted(
        (r for r in summary if (r.option, r.planner, r.port_id) == (option, planner, port)),
        key=lambda r: r.growth,
    )
    xs = [r.growth for r in pts]
    mean = [r.figures[figure].mean for r in pts]
    half = [r.figures[figure].half_width or 0.0 for r in pts]
    top = 1.0 if figure == "occupancy" else math.inf  # the band stays where the figure can be
    return (
        xs,
        mean,
        [max(0.0, m - h) for m, h in zip(mean, half, strict=True)],
        [min(top, m + h) for m, h in zip(mean, half, strict=True)],
    )


def write_plots(
    summary: Sequence[SummaryRow],
    knees: Sequence[Knee],
    out: Path,
    theory: Callable[[int, float], float] | None = None,
) -> list[Path]:
    """demand.{png,svg} (waiting, dwell and occupancy against demand, per port, both planners, 95 %
    bands) and congestion.{png,svg} (Wq/S against occupancy, the M/E2/n curve for the port's berth
    count beside it, the 0.1 and 0.3 thresholds and each knee marked)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"svg.hashsalt": "portsync-study"}):  # the same study draws the same SVG
        return _draw(plt, summary, knees, out, theory)


def _draw(
    plt: Any,
    summary: Sequence[SummaryRow],
    knees: Sequence[Knee],
    out: Path,
    theory: Callable[[int, float], float] | None,
) -> list[Path]:

    out.mkdir(parents=True, exist_ok=True)
    ports = sorted({r.port_id for r in summary})
    options = sorted({r.option for r in summary}, key=lambda o: (o != "base", o))
    planners = [p for p in Planner if any(r.planner == p for r in summary)]
    written: list[Path] = []

    figs = [
        ("wait_mean_h", "Mean anchorage waiting (h)"),
        ("dwell_mean_h", "Mean dwell (h)"),
        ("occupancy", "Berth occupancy"),
    ]
    fig, axes = plt.subplots(
        len(figs), len(ports), figsize=(4.2 * len(ports), 3.2 * len(figs)), squeeze=False, sharex=True
    )
    for col, port in enumerate(ports):
        for row, (figure, label) in enumerate(figs):
            ax = axes[row][col]
            for oi, option in enumerate(options):
                for planner in planners:
                    xs, mean, lo, hi = _series(summary, option, planner, port, figure)
                    if not xs:
                        continue
                    ax.plot(
                        xs,
                        mean,
                        LINES[oi % len(LINES)],
                        marker=MARKERS[planner],
                        color=COLOURS[planner],
                        label=f"{planner.value} · {option}",
                    )
                    ax.fill_between(xs, lo, hi, color=COLOURS[planner], alpha=0.15, linewidth=0)
            if row == 0:
                ax.set_title(port)
            if col == 0:
                ax.set_ylabel(label)
            if row == len(figs) - 1:
                ax.set_xlabel("Traffic (× today's)")
            ax.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize="small")
    fig.suptitle("Realized waiting, dwell and occupancy against demand (bands: 95 % over seeds)")
    fig.tight_layout()
    written += _save(fig, out / "demand")
    plt.close(fig)

    fig, axes = plt.subplots(1, len(ports), figsize=(4.6 * len(ports), 4.0), squeeze=False)
    for col, port in enumerate(ports):
        ax = axes[0][col]
        berths = max((r.berths for r in summary if r.port_id == port), default=1)
        top = 0.0
        for oi, option in enumerate(options):
            for planner in planners:
                pts = sorted(
                    (r for r in summary if (r.option, r.planner, r.port_id) == (option, planner, port)),
                    key=lambda r: r.growth,
                )
                if not pts:
                    continue
                occ = [r.figures["occupancy"].mean for r in pts]
                ratio = [r.figures["wq_over_s"].mean for r in pts]
                top = max(top, *ratio)
                ax.plot(
                    occ,
                    ratio,
                    LINES[oi % len(LINES)],
                    marker=MARKERS[planner],
                    color=COLOURS[planner],
                    label=f"{planner.value} · {option}",
                )
                for k in knees:
                    if (k.option, k.port_id, k.planner) != (option, port, planner):
                        continue
                    for name, o in k.occupancy_at.items():
                        if o is not None and name.startswith("wq/s="):
                            ax.plot(
                                [o],
                                [float(name.split("=")[1])],
                                marker="X",
                                markersize=10,
                                color=COLOURS[planner],
                                markeredgecolor="black",
                            )
        if theory is not None:
            grid = [i / 100 for i in range(5, 96)]
            values = [theory(berths, x) for x in grid]
            keep = [(x, v) for x, v in zip(grid, values, strict=True) if v <= max(top * 1.5, 1.0)]
            ax.plot(
                [x for x, _ in keep],
                [v for _, v in keep],
                color="black",
                linewidth=1,
                label=f"M/E2/{berths} (identical berths)",
            )
        for threshold in KNEE_RATIOS:
            ax.axhline(threshold, color="grey", linewidth=0.8, linestyle=":")
        ax.set_title(f"{port} ({berths} berths)")
        ax.set_xlabel("Berth occupancy")
        ax.set_ylabel("Wq/S")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle("Waiting over service time against occupancy (× = knee: Wq/S 0.1 and 0.3)")
    fig.tight_layout()
    written += _save(fig, out / "congestion")
    plt.close(fig)
    return written


def _save(fig: object, stem: Path) -> list[Path]:
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    for p in paths:
        # A fixed date and no hash salt: the same study draws the same SVG.
        fig.savefig(p, dpi=110, metadata={"Date": None} if p.suffix == ".svg" else None)  # type: ignore[attr-defined]
    return paths
