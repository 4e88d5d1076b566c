"""What the JIT module needs of the live plans, and nothing more: find the portsync call a carrier's
Terminal Call is about, and hand a live plan its events. The live-plan code implements
`LivePlanGateway`; until then the app mounts `NoCallsGateway` (it knows no calls).

Events are plain dicts in the live plans' own vocabulary (optimizer/live/events.py, DESIGN.md §8),
e.g. `{"event_id": "jit-<timestampID>", "type": "eta", "call_id": "C7", "eta": "2026-12-03T08:00:00+05:00",
"source": "DCSA JIT EST"}`; the live plan validates them (and refuses a list whole).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class CallRef:
    """One call of one live plan, with what a Port Call needs to name it."""

    live_plan_id: str
    call_id: str
    port_id: str
    timezone: str
    vessel_imo: str | None = None
    vessel_mmsi: str | None = None
    vessel_name: str | None = None


class EventsRefused(Exception):
    """The live plan refused the events: why, and the field (dotted path) it names, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class LivePlanGateway(Protocol):
    def find_call(self, *, terminal_call_reference: str | None, un_location_code: str | None,
                  imo: str | None, mmsi: str | None, near: datetime | None) -> CallRef | None:
        """The call a Terminal Call is about: the call whose id is `terminal_call_reference` when it
        is one; otherwise the call at port `un_location_code` of the vessel with this IMO or MMSI
        nearest in time to `near`; None when no live plan has such a call."""
        ...

    def post_events(self, live_plan_id: str, events: list[dict[str, Any]]) -> None:
        """Hand the events to the live plan (idempotent by event_id); raises EventsRefused."""
        ...


class NoCallsGateway:
    """The gateway before live plans exist: it knows no call, so nothing binds and no event is
    posted. The carrier's records are still stored and answered (204), their timestamps readable;
    a timestamp for a service never PUT is a 400, as for any gateway."""

    def find_call(self, *, terminal_call_reference: str | None, un_location_code: str | None,
                  imo: str | None, mmsi: str | None, near: datetime | None) -> CallRef | None:
        return None

    def post_events(self, live_plan_id: str, events: list[dict[str, Any]]) -> None:
        raise EventsRefused(f"no live plan {live_plan_id!r}: live plans are not wired in")
