"""`portsync bench live`: how stable and how quick a live plan is.

Stability: the week solved once; per seed three voyages (picked from the seed) report their ETA
2, 4 and 6 h late; the live plan replans, and a full re-solve of the delayed problem from scratch
(the first version's time limit) is the yardstick. Figures: replan seconds, berth changes outside
the delayed voyages, calls whose start shifted more than 30 min, RTAs moved, and the replan's
total dwell against the full re-solve's.

Speed: event -> version (p50 / p95) over a replay of the week's event stream, and, with
`--scale`, over a generated 400-call problem's stream.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from rich.table import Table

from optimizer.checker import check
from optimizer.domain import Problem
from optimizer.live.events import Eta
from optimizer.live.replan import ReplanSettings, Version, first_version, planning_view, replan
from optimizer.live.replaying import EventLine, run_replay, timing
from optimizer.live.simulate import seeded_delay
from optimizer.live.state import LiveState
from optimizer.params import SolveOptions
from optimizer.report import plan_from_result
from optimizer.solver import solve

DELAYS_H = (2, 4, 6)
TARGETS = {"shifted": 15, "berth_changes_outside": 3, "dwell_worse_pct": 1.0}
#: Voyages whose first call is this soon after the start are not picked (they are in or near the
#: frozen window and cannot move).
PICK_AFTER = timedelta(hours=12)


@dataclass
class StabilityRow:
    seed: int
    delayed: list[str]
    replan_s: float
    berth_changes_outside: int
    berth_changes: int
    shifted: int
    rta_moved: int
    replan_dwell_h: float
    full_dwell_h: float
    unserved_replan: int
    unserved_full: int
    checks_ok: bool

    @property
    def dwell_vs_full_pct(self) -> float:
        if not self.full_dwell_h:
            return 0.0
        return 100.0 * (self.replan_dwell_h - self.full_dwell_h) / self.full_dwell_h


def pick_voyages(problem: Problem, seed: int) -> list[str]:
    """Three vessels whose voyages are delayed 2, 4, 6 h, the same for a seed."""
    pool = sorted(v.vessel_id for v in problem.voyages if v.eta >= problem.horizon_start + PICK_AFTER)
    if len(pool) < len(DELAYS_H):
        raise ValueError(f"the stability benchmark delays {len(DELAYS_H)} voyages whose ETA is at least "
                         f"{PICK_AFTER} after the horizon start; {problem.name} has {len(pool)}")
    return random.Random(f"portsync-bench-live-{seed}").sample(pool, len(DELAYS_H))


def stability_run(problem: Problem, state: LiveState, v1: Version, seed: int, settings: ReplanSettings
                  ) -> StabilityRow:
    vessels = pick_voyages(problem, seed)
    voyages = {v.vessel_id: v for v in problem.voyages}
    events = [Eta(event_id=f"bench-delay-{vid}", call_id=voyages[vid].call_ids[0],
                  eta=voyages[vid].eta + timedelta(hours=h), source="bench")
              for vid, h in zip(vessels, DELAYS_H, strict=True)]
    s = settings.model_copy(update={"seed": seed})
    new, v2 = replan(state, v1, events, s)
    delayed_calls = {cid for vid in vessels for cid in voyages[vid].call_ids}
    outside = sum(1 for c in v2.changes if c.call_id not in delayed_calls and c.berth_before is not None
                  and c.berth_after is not None and c.berth_before != c.berth_after)
    shifted = sum(1 for c in v2.changes
                  if c.start_shift_minutes is not None and abs(c.start_shift_minutes) > 30)
    view = planning_view(new, {}, set())
    options = SolveOptions(time_limit_s=s.first_time_limit_s, workers=s.first_workers, seed=seed,
                           weights=s.weights)
    full = plan_from_result(view.problem, solve(view.problem, options), s.weights)
    ok = check(v2.problem, v2.plan, s.weights).ok and check(view.problem, full, s.weights).ok
    assert v2.plan.kpis is not None
    return StabilityRow(
        seed=seed, delayed=[f"{vid} +{h} h" for vid, h in zip(vessels, DELAYS_H, strict=True)],
        replan_s=v2.replan_s, berth_changes_outside=outside,
        berth_changes=v2.stability.berth_changes if v2.stability else 0, shifted=shifted,
        rta_moved=v2.stability.rta_moved if v2.stability else 0,
        replan_dwell_h=v2.plan.kpis.total_dwell_hours,
        full_dwell_h=full.kpis.total_dwell_hours if full.kpis else 0.0,
        unserved_replan=len(v2.plan.unserved), unserved_full=len(full.unserved), checks_ok=ok)


def stability(problem: Problem, seeds: list[int], settings: ReplanSettings
              ) -> tuple[Version, list[StabilityRow]]:
    state, v1 = first_version(problem, settings)
    return v1, [stability_run(problem, state, v1, seed, settings) for seed in seeds]


def replay_timing(problem: Problem, lines: list[EventLine], settings: ReplanSettings) -> dict[str, float]:
    """event -> version over the lines (no drain, no baselines), and whether every version was clean."""
    run = run_replay(problem, lines, settings, seeded_delay(settings.seed), drain=False)
    out = timing(run)
    out["failed_checks"] = float(len(run.failed_checks))
    out["first_s"] = run.live.versions[0].replan_s
    return out


# -- the tables `portsync bench live` prints ---------------------------------------------------------


def stability_table(name: str, rows: list[StabilityRow], replan_s: float, full_s: float) -> Table:
    table = Table(title=f"{name}: 3 voyages delayed 2, 4, 6 h, replan ({replan_s:g} s) vs "
                  f"full re-solve ({full_s:g} s)", title_justify="left")
    for col in ("seed", "delayed", "replan s", "berth chg outside", "shifted >30 min", "RTAs moved",
                "dwell replan h", "dwell re-solve h", "dwell vs re-solve", "checks"):
        table.add_column(col, justify="left" if col in ("delayed", "checks") else "right")
    for r in rows:
        table.add_row(str(r.seed), ", ".join(r.delayed), f"{r.replan_s:.2f}", str(r.berth_changes_outside),
                      str(r.shifted), str(r.rta_moved), f"{r.replan_dwell_h:,.1f}", f"{r.full_dwell_h:,.1f}",
                      f"{r.dwell_vs_full_pct:+.2f} %", "ok" if r.checks_ok else "FAILED")
    return table


def targets_line(rows: list[StabilityRow]) -> str:
    """The stability targets beside the worst row of each."""
    return (f"targets: shifted >30 min <= {TARGETS['shifted']} (worst {max(r.shifted for r in rows)}), "
            f"berth changes outside the delayed voyages <= {TARGETS['berth_changes_outside']} "
            f"(worst {max(r.berth_changes_outside for r in rows)}), "
            f"dwell <= +{TARGETS['dwell_worse_pct']:g} % vs re-solve "
            f"(worst {max(r.dwell_vs_full_pct for r in rows):+.2f} %)")


def timings_table(timings: list[tuple[str, dict[str, float]]]) -> Table:
    tt = Table(title="event -> version", title_justify="left")
    for col in ("stream", "events", "p50 s", "p95 s", "max s", "version 1 s", "failed checks"):
        tt.add_column(col, justify="left" if col == "stream" else "right")
    for name, t in timings:
        tt.add_row(name, f"{t['events']:.0f}", f"{t['p50_s']:.2f}", f"{t['p95_s']:.2f}",
                   f"{t['max_s']:.2f}", f"{t['first_s']:.1f}", f"{t['failed_checks']:.0f}")
    return tt
