"""Small problems for tests, written in a few lines each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from optimizer.domain import Problem
from optimizer.params import SolveOptions
from optimizer.plan import Plan
from optimizer.report import plan_from_result
from optimizer.solver import solve
from optimizer.validation import load_problem

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


def two_ships_one_berth() -> Problem:
    """Two vessels arriving together at a one-berth port: one must wait."""
    return make_problem(
        [port("KZAAU", [berth("A1")])],
        [vessel("V1"), vessel("V2")],
        [call("C1", "V1", "KZAAU", 10), call("C2", "V2", "KZAAU", 4)],
        [voyage("V1", 1, "C1"), voyage("V2", 1, "C2")],
    )


def solve_plan(problem: Problem, options: SolveOptions | None = None, **kwargs: Any) -> Plan:
    """The user's Plan of a solve, as the CLI and the API build it."""
    options = options or SolveOptions()
    return plan_from_result(problem, solve(problem, options, **kwargs), options.weights)
