"""A tiny live-plan world for the replay tests: two ports, four calls, a short event stream."""

from __future__ import annotations

from typing import Any

from optimizer.domain import Problem
from optimizer.live.events import EVENT, Event
from optimizer.live.replan import ReplanSettings
from optimizer.loading import load_problem
from tests.builders import at, berth, call, port, problem_dict, vessel, voyage

SETTINGS = ReplanSettings(first_time_limit_s=1.0, replan_time_limit_s=1.0, first_workers=1)


def tiny_dict() -> dict[str, Any]:
    return problem_dict(
        [port("KZAAU", [berth("A1"), berth("A2")]), port("AZBAK", [berth("B1")], tz="Asia/Baku")],
        [vessel("V1"), vessel("V2"), vessel("V3")],
        [call("C1", "V1", "KZAAU", 6), call("C2", "V1", "AZBAK", 5), call("C3", "V2", "KZAAU", 8),
         call("C4", "V3", "KZAAU", 4), call("C5", "V3", "AZBAK", 3)],
        [voyage("V1", 1, "C1", "C2"), voyage("V2", 2, "C3"), voyage("V3", 3, "C4", "C5")],
        days=3,
    )


def tiny() -> Problem:
    return load_problem(tiny_dict())


def tiny_stream_dicts() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"event_id": "eta-V3", "type": "eta", "call_id": "C4", "eta": at(5)},
        {"event_id": "storm-B", "type": "closure", "port_id": "AZBAK", "start": at(20), "end": at(26)},
        {"event_id": "maint-A2", "type": "maintenance", "berth_id": "A2", "start": at(9), "end": at(12)},
    ]
    for h in range(3, 28, 3):
        out.append({"event_id": f"clock-{h}", "type": "clock", "now": at(h)})
        if h == 12:
            out.append({"event_id": "storm-B-lifted", "type": "closure_lifted",
                        "closure_event_id": "storm-B"})
    return out


def tiny_stream() -> list[Event]:
    return [EVENT.validate_python(d) for d in tiny_stream_dicts()]
