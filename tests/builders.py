"""Small problems for tests, written in a few lines each."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from optimizer.domain import Problem
from optimizer.loading import load_problem
from optimizer.params import SolveOptions
from optimizer.plan import CallAssignment, Plan
from optimizer.report import plan_from_result
from optimizer.solver import solve

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)


def at(hours: float) -> str:
    """ISO time `hours` after the test horizon start."""
    return (T0 + timedelta(hours=hours)).isoformat()


def berth(
    bid: str, length: float = 200, draft: float = 8, kinds: tuple[str, ...] = ("general",), **extra: Any
) -> dict[str, Any]:
    return {"id": bid, "length_m": length, "max_draft_m": draft, "cargo_kinds": list(kinds), **extra}


def port(pid: str, berths: list[dict[str, Any]], tz: str = "Asia/Aqtau", **extra: Any) -> dict[str, Any]:
    return {"id": pid, "name": pid, "timezone": tz, "berths": berths, **extra}


def vessel(vid: str, length: float = 120, draft: float = 5, **extra: Any) -> dict[str, Any]:
    return {
        "id": vid,
        "name": f"MV {vid}",
        "length_m": length,
        "draft_m": draft,
        "min_speed_kn": 6,
        "service_speed_kn": 12,
        "max_speed_kn": 14,
        **extra,
    }


def call(cid: str, vid: str, pid: str, hours: float, cargo: str = "general", **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "vessel_id": vid,
        "port_id": pid,
        "cargo": cargo,
        "handling": {"hours": hours},
        **extra,
    }


def voyage(vid: str, eta_h: float, *call_ids: str) -> dict[str, Any]:
    return {"vessel_id": vid, "eta": at(eta_h), "call_ids": list(call_ids)}


def problem_dict(
    ports: list[dict[str, Any]],
    vessels: list[dict[str, Any]],
    calls: list[dict[str, Any]],
    voyages: list[dict[str, Any]],
    days: float = 7,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "name": "test",
        "horizon_start": at(0),
        "horizon_end": at(24 * days),
        "ports": ports,
        "vessels": vessels,
        "calls": calls,
        "voyages": voyages,
        **extra,
    }


def make_problem(*args: Any, **kwargs: Any) -> Problem:
    return load_problem(problem_dict(*args, **kwargs))


def two_ships_one_berth_dict(**extra: Any) -> dict[str, Any]:
    """Two vessels arriving together at a one-berth port: one must wait (solved in milliseconds)."""
    return problem_dict(
        [port("KZAAU", [berth("A1")])],
        [vessel("V1"), vessel("V2")],
        [call("C1", "V1", "KZAAU", 10), call("C2", "V2", "KZAAU", 4)],
        [voyage("V1", 1, "C1"), voyage("V2", 1, "C2")],
        **extra,
    )


def corridor_dict() -> dict[str, Any]:
    """Three vessels over Aktau and Baku: two Aktau berths, one Baku berth, a two-call voyage (the
    live-plan tests' problem: every event type has a call to apply to)."""
    return problem_dict(
        [port("KZAAU", [berth("A1"), berth("A2")]), port("AZBAK", [berth("B1")], tz="Asia/Baku")],
        [vessel("V1"), vessel("V2"), vessel("V3")],
        [call("V1-A", "V1", "KZAAU", 6), call("V1-B", "V1", "AZBAK", 5),
         call("V2-A", "V2", "KZAAU", 8), call("V3-B", "V3", "AZBAK", 4)],
        [voyage("V1", 2, "V1-A", "V1-B"), voyage("V2", 3, "V2-A"), voyage("V3", 20, "V3-B")],
        days=5,
    )


def two_ships_one_berth() -> Problem:
    return load_problem(two_ships_one_berth_dict())


def t(hours: float) -> datetime:
    """The test horizon start plus `hours`."""
    return T0 + timedelta(hours=hours)


def assignment(cid: str, bid: str, arrival: float, start: float, end: float) -> CallAssignment:
    """A plan entry with its times in hours from the test horizon start."""
    return CallAssignment(call_id=cid, berth_id=bid, arrival=t(arrival), berth_start=t(start),
                          berth_end=t(end))


BAP = Path(os.environ.get("PORTSYNC_BAP_DIR", Path(__file__).resolve().parents[2] / "shared/benchmarks/bap"))


def need_bap(path: Path) -> Path:
    """`path` inside the benchmark data, or a skip when the data is absent (no ../shared beside)."""
    if not path.exists():
        pytest.skip(f"benchmark data {path} is absent (set PORTSYNC_BAP_DIR to the bap folder)")
    return path


def solve_plan(problem: Problem, options: SolveOptions | None = None, **kwargs: Any) -> Plan:
    """The user's Plan of a solve, as the CLI and the API build it."""
    options = options or SolveOptions()
    return plan_from_result(problem, solve(problem, options, **kwargs), options.weights)
