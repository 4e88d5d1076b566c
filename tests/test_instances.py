"""The Caspian scenario files: they load, say what they model, and keep the traffic plausible."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from optimizer.domain import Problem, berth_misfit, handling_hours
from optimizer.loading import load_problem

CASPIAN = Path(__file__).resolve().parents[1] / "instances" / "caspian"
FILES = sorted(CASPIAN.glob("*.json"))
WEEKS = [f for f in FILES if f.name != "month.json"]
PORTS = {"KZAAU", "KZKUR", "AZBAK"}
FERRIES = ("rail_ferry", "ro_ro")


def load(name: str) -> Problem:
    return load_problem(CASPIAN / name)


def nominal_starts(problem: Problem) -> dict[str, datetime]:
    """Each call's berth start if nothing queued: first call at its ETA, later ones after sailing at
    service speed, no earlier than the call's earliest start, at its quickest berth."""
    calls, vessels = problem.call_map(), problem.vessel_map()
    berths = {p.id: p.berths for p in problem.ports}
    out: dict[str, datetime] = {}
    for voyage in problem.voyages:
        t = voyage.eta
        prev = None
        for cid in voyage.call_ids:
            c = calls[cid]
            v = vessels[c.vessel_id]
            if prev is not None:
                t += timedelta(hours=(problem.distance_nm(prev, c.port_id) or 0) / v.service_speed_kn)
            if c.earliest_start is not None:
                t = max(t, c.earliest_start)
            out[cid] = t
            hours = min(handling_hours(c, b) or 0.0 for b in berths[c.port_id]
                        if berth_misfit(c, v, b) is None)
            t += timedelta(hours=hours)
            prev = c.port_id
    return out


def kuryk_ferries_per_day(problem: Problem) -> Counter[str]:
    starts = nominal_starts(problem)
    return Counter(
        starts[c.id].date().isoformat() for c in problem.calls
        if c.port_id == "KZKUR" and c.cargo.value in ("rail_ferry", "ro_ro")
    )


def test_the_scenarios_exist() -> None:
    assert {f.name for f in FILES} >= {"week.json", "storm.json", "grain-rush.json", "month.json"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_scenario_loads_and_says_what_it_models(path: Path) -> None:
    problem = load_problem(path)
    assert len(problem.description) > 200
    assert "ESTIMATE" in problem.description
    assert {c.port_id for c in problem.calls} == PORTS


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_scenario_file_is_formatted(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("path", WEEKS, ids=lambda p: p.name)
def test_kuryk_gets_no_more_ferries_a_day_than_it_handles(path: Path) -> None:
    per_day = kuryk_ferries_per_day(load_problem(path))
    assert per_day, "no ferry calls at Kuryk"
    assert max(per_day.values()) <= 8, per_day


def test_week_is_a_week_of_traffic_at_all_three_ports() -> None:
    week = load("week.json")
    assert week.horizon_end - week.horizon_start == timedelta(days=7)
    assert len(week.calls) >= 80
    types = {(c.port_id, week.vessel_map()[c.vessel_id].type.value) for c in week.calls}
    assert {("KZKUR", "rail_ferry"), ("AZBAK", "rail_ferry"), ("KZAAU", "rail_ferry"),
            ("KZAAU", "tanker"), ("KZAAU", "container_feeder"), ("KZAAU", "bulk_carrier")} <= types
    shuttles = [v for v in week.voyages if len({week.call_map()[c].port_id for c in v.call_ids}) == 2
                and len(v.call_ids) >= 3]
    assert shuttles, "no ferry or feeder makes several round trips"


def test_storm_is_the_week_with_a_two_day_closure_of_all_three_ports() -> None:
    week, storm = load("week.json"), load("storm.json")
    assert [c.id for c in storm.calls] == [c.id for c in week.calls]
    assert storm.vessels == week.vessels
    for port in storm.ports:
        longest = max((w.end - w.start for w in port.closures), default=timedelta(0))
        assert longest >= timedelta(hours=48), port.id
    assert "48 h" in storm.description


def test_grain_rush_has_grain_ships_at_aktau_waiting_for_trains_and_linked() -> None:
    rush = load("grain-rush.json")
    grain = [c for c in rush.calls if c.port_id == "KZAAU" and c.cargo.value == "grain"]
    assert len(grain) >= 8
    assert sum(1 for c in grain if c.earliest_start is not None) >= len(grain) // 2
    ids = {c.id for c in grain}
    assert any(link.before in ids and link.after in ids for link in rush.links)


# -- month.json: the real berths at the ports' targets ----------------------------------------

MONTH_DAYS = 30
TEU_PER_YEAR_AT_AKTAU = 300_000  # the project brief's target
GRAIN_T_PER_YEAR = 1_000_000  # the project brief's target
LARGEST_FEEDER_TEU = 314  # caspian.md: feeders of 225-314 TEU
LARGEST_GRAIN_LOT_T = 5_500  # caspian.md: ~5,000 dwt grain ships


def test_month_is_thirty_days_on_the_27_real_berths_without_copies() -> None:
    month = load("month.json")
    assert month.horizon_end - month.horizon_start == timedelta(days=MONTH_DAYS)
    # The published layout (caspian.md): Aktau 10 berths in the model (dry cargo 1-3, oil 4, 5, 9, 10,
    # grain 6, ferry 8, the container hub), Kuryk 4 ferry berths and 2 at Sarzha, Alat 11 (12 less the
    # auxiliary berth).
    assert {p.id: len(p.berths) for p in month.ports} == {"KZAAU": 10, "KZKUR": 6, "AZBAK": 11}
    names = [(p.id, b.name) for p in month.ports for b in p.berths]
    assert len(set(names)) == len(names) == 27
    assert not [n for n in names if "copy" in n[1]]
    assert len(month.calls) >= 500


def test_month_keeps_kuryk_at_five_to_eight_ferries_a_day() -> None:
    month = load("month.json")
    ferries = sum(1 for c in month.calls if c.port_id == "KZKUR" and c.cargo.value in FERRIES)
    assert 5 <= ferries / MONTH_DAYS <= 8, ferries
    # On no day more than its four ferry berths turn round at ~8 h a ferry (4 x 24 / 8 = 12).
    per_day = kuryk_ferries_per_day(month)
    assert max(per_day.values()) <= 12, per_day


def test_month_loads_a_million_tonnes_of_grain_a_year() -> None:
    month = load("month.json")
    loads = [c for c in month.calls if c.cargo.value == "grain" and c.port_id in ("KZAAU", "KZKUR")]
    tonnes = sum(c.handling.quantity or 0.0 for c in loads)
    assert abs(tonnes - GRAIN_T_PER_YEAR * MONTH_DAYS / 365) <= LARGEST_GRAIN_LOT_T, tonnes
    assert {c.port_id for c in loads} == {"KZAAU", "KZKUR"}
    assert all((c.handling.quantity or 0.0) <= LARGEST_GRAIN_LOT_T for c in loads)


def test_month_handles_300000_teu_a_year_at_aktau_on_feeders_of_their_size() -> None:
    month = load("month.json")
    calls = [c for c in month.calls if c.port_id == "KZAAU" and c.cargo.value == "container"]
    teu = sum(c.handling.quantity or 0.0 for c in calls)
    target = TEU_PER_YEAR_AT_AKTAU * MONTH_DAYS / 365
    assert abs(teu - target) <= 0.05 * target, teu
    # A feeder call discharges and loads at most its own size each way.
    assert all(0 < (c.handling.quantity or 0.0) <= 2 * LARGEST_FEEDER_TEU for c in calls)
    vessels = month.vessel_map()
    assert {vessels[c.vessel_id].type.value for c in calls} == {"container_feeder"}


def test_month_can_be_served_whole_first_come_first_served() -> None:
    """Hard latest departures are set after FCFS, so a plan serving every call exists."""
    from optimizer.baseline import fcfs
    from optimizer.checker import check

    month = load("month.json")
    assert any(c.latest_departure for c in month.calls)
    report = check(month, fcfs(month))
    assert report.ok, report.violations[:3]


def _make_scenarios() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_scenarios", CASPIAN / "make_scenarios.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_files_are_what_make_scenarios_writes() -> None:
    """The committed files can be regenerated (rerun make_scenarios.py after changing the generator)."""
    for name, problem in _make_scenarios().scenarios().items():
        assert load(name).model_dump(mode="json") == problem.model_dump(mode="json"), name
