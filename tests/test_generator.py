"""The seeded scenario generator: deterministic, the requested size, valid, plausible, scalable."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest

from optimizer.baseline import fcfs
from optimizer.checker import check
from optimizer.domain import CargoKind, imo_check_digit_ok
from optimizer.generator import (
    MonthTraffic,
    auto_berth_scale,
    berth_copies,
    caspian_fleet,
    caspian_ports,
    generate,
    grain_rush,
    imo_with_check_digit,
)
from optimizer.loading import load_problem
from tests.test_instances import kuryk_ferries_per_day


def test_same_seed_gives_the_same_problem() -> None:
    assert generate(60, 5, seed=3).model_dump() == generate(60, 5, seed=3).model_dump()


def test_different_seeds_give_different_problems() -> None:
    a, b = generate(60, 5, seed=1), generate(60, 5, seed=2)
    assert a.model_dump(exclude={"name", "description"}) != b.model_dump(exclude={"name", "description"})


@pytest.mark.parametrize(("calls", "days"), [(12, 2), (100, 7), (300, 10), (600, 30)])
def test_requested_size_is_met(calls: int, days: int) -> None:
    problem = generate(calls, days, seed=5)
    assert abs(len(problem.calls) - calls) <= 0.1 * calls
    assert problem.horizon_end - problem.horizon_start == timedelta(days=days)
    assert all(problem.horizon_start <= v.eta <= problem.horizon_end for v in problem.voyages)


def test_a_month_of_2000_calls_generates_quickly_and_validates() -> None:
    t = time.perf_counter()
    problem = generate(2000, 30, seed=0)
    assert time.perf_counter() - t < 5.0
    again = load_problem(problem.model_dump(mode="json"))
    assert len(again.calls) == 2000
    assert {c.port_id for c in again.calls} == {"KZAAU", "KZKUR", "AZBAK"}
    assert again.links and any(p.closures for p in again.ports)


def test_every_vessel_has_a_valid_imo_and_mmsi() -> None:
    problem = generate(300, 10, seed=7)
    imos = [v.imo for v in problem.vessels]
    assert all(i is not None and imo_check_digit_ok(i) for i in imos)
    assert len(set(imos)) == len(imos)
    assert all(v.mmsi is not None and len(v.mmsi) == 9 and v.mmsi[:3] in ("423", "436")
               for v in problem.vessels)


def test_imo_check_digit() -> None:
    assert imo_with_check_digit(907472) == "9074729"  # the IMO's own example
    with pytest.raises(ValueError):
        imo_with_check_digit(12345)


def test_ferries_shuttle_with_several_calls_alternating_ports() -> None:
    problem = generate(100, 7, seed=4)
    calls = problem.call_map()
    ferry_voyages = [v for v in problem.voyages if v.vessel_id.startswith("RF") and len(v.call_ids) >= 3]
    assert ferry_voyages
    for v in ferry_voyages:
        ports = [calls[c].port_id for c in v.call_ids]
        assert all(a != b for a, b in itertools.pairwise(ports)), ports


@pytest.mark.parametrize("seed", range(4))
def test_generated_week_keeps_kuryk_ferries_plausible(seed: int) -> None:
    assert max(kuryk_ferries_per_day(generate(110, 7, seed=seed)).values()) <= 8


def test_switches_leave_the_traffic_alone() -> None:
    full = generate(80, 7, seed=9)
    bare = generate(80, 7, seed=9, closures=False, maintenance=False, links=False)
    assert [c.id for c in bare.calls] == [c.id for c in full.calls]
    assert not bare.links and full.links
    assert not any(p.closures for p in bare.ports)
    assert not any(b.unavailable for p in bare.ports for b in p.berths)


def test_basin_closure_closes_all_three_ports() -> None:
    problem = generate(80, 7, seed=9, closures=False, basin_closure=(2.0, 48.0))
    for port in problem.ports:
        assert any(w.end - w.start >= timedelta(hours=48) for w in port.closures), port.id


def test_hard_latest_departures_can_be_met() -> None:
    """Each is set after the first-come-first-served baseline, which then breaks no hard constraint."""
    problem = generate(300, 10, seed=11, basin_closure=(4.0, 48.0))
    assert any(c.latest_departure for c in problem.calls)
    report = check(problem, fcfs(problem))
    assert report.ok, report.violations


def test_ports_follow_the_published_layout() -> None:
    ports = {p.id: p for p in caspian_ports()}
    assert {p.timezone for p in ports.values()} == {"Asia/Aqtau", "Asia/Baku"}
    aktau = ports["KZAAU"].berths
    assert len(aktau) == 10
    assert sum(CargoKind.LIQUID_BULK in b.cargo_kinds for b in aktau) == 4
    assert len(ports["KZKUR"].berths) == 6
    assert len(ports["AZBAK"].berths) == 11


def test_big_traffic_gets_more_berths_not_absurd_queues() -> None:
    assert auto_berth_scale(100, 7) == 1
    scale = auto_berth_scale(2000, 30)
    assert scale >= 4
    assert len(caspian_ports(scale)[0].berths) == 10 * scale
    # 27 real berths; at scale 3 every one has two copies.
    assert berth_copies(caspian_ports(1)) == 0
    assert berth_copies(caspian_ports(3)) == 54


def test_fleet_by_kind() -> None:
    fleet = caspian_fleet({"rail_ferry": 3, "tanker": 2})
    assert [v.type.value for v in fleet] == ["rail_ferry"] * 3 + ["tanker"] * 2
    assert all(v.length_m == 154.5 and v.max_speed_kn >= 13.9 for v in fleet[:3])
    with pytest.raises(ValueError, match="unknown vessel kind"):
        caspian_fleet({"submarine": 1})


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        generate(10, 2, start=datetime(2026, 11, 2))
    with pytest.raises(ValueError, match="calls"):
        generate(0, 2)
    assert generate(10, 2, start=datetime(2026, 1, 5, tzinfo=UTC)).horizon_start.month == 1


def test_grain_rush_bunches_grain_ships_at_aktau() -> None:
    rush = grain_rush(seed=1, ships=10)
    loads = [c for c in rush.calls if c.port_id == "KZAAU" and c.cargo.value == "grain"]
    assert len(loads) == 10
    assert rush.links


def test_month_traffic_turns_targets_into_calls() -> None:
    # 365,000 TEU a year over 30 days is 30,000 TEU: 100 feeder calls of 300 TEU at Aktau, as many at Alat.
    t = MonthTraffic(aktau_teu_per_year=365_000, teu_per_feeder_call=300, kuryk_ferries_per_day=5,
                     grain_t_per_year=730_000, aktau_grain_t_per_year=365_000)
    streams = t.streams()
    assert streams["aktau_alat_feeder"] == 200
    # 5 ferries a day at Kuryk over 30 days, each crossing also calling at Alat.
    assert streams["kuryk_alat_rail_ferry"] + streams["kuryk_alat_ro_ro"] == 300
    assert streams["kuryk_alat_rail_ferry"] > streams["kuryk_alat_ro_ro"]
    assert t.grain_tonnes() == pytest.approx({"KZAAU": 30_000, "KZKUR": 30_000})
    assert "aktau_grain" not in streams and "kuryk_grain" not in streams
    assert all("ESTIMATE" in line for line in t.derivation())


def test_month_traffic_refuses_targets_that_make_no_sense() -> None:
    with pytest.raises(ValueError, match="kuryk_ferries_per_day"):
        MonthTraffic(kuryk_ferries_per_day=0)
    with pytest.raises(ValueError, match="aktau_grain_t_per_year"):
        MonthTraffic(grain_t_per_year=500_000, aktau_grain_t_per_year=800_000)
