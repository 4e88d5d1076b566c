"""The events a live plan follows, field by field (DESIGN.md §8): one pydantic record per type,
told apart by `type`. Times are ISO 8601 with an offset; an event names calls, berths and ports
by their ids in the live plan's problem. Whether an event fits the live plan's state (a known
call, an ATD after its ATB, ...) is optimizer.live.state's to say, all at once, per field."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from optimizer.domain import Call, Id, Name, Reason, text_fault

EventId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")]


class EventType(StrEnum):
    CLOCK = "clock"
    ETA = "eta"
    ACTUAL_ARRIVAL = "actual_arrival"
    ACTUAL_BERTHING = "actual_berthing"
    ACTUAL_DEPARTURE = "actual_departure"
    HANDLING_UPDATE = "handling_update"
    CARGO_READY = "cargo_ready"
    CALL_ADDED = "call_added"
    CALL_CANCELLED = "call_cancelled"
    CLOSURE = "closure"
    CLOSURE_LIFTED = "closure_lifted"
    MAINTENANCE = "maintenance"


class _Event(BaseModel):
    """Unknown fields are an error; no text may hold a NUL or a lone surrogate (as problems).
    Not a domain Record: its per-field "before" check would hide `type` from the discriminator."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _safe_text(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, v in data.items():
                if isinstance(v, str) and (fault := text_fault(v)):
                    raise PydanticCustomError("string_unsafe", "{key} {fault}", {"key": key, "fault": fault})
        return data

    event_id: EventId = Field(description="Chosen by the client: the same id twice is applied once.")
    source: Name = Field(default="", description="Who reported it (AIS, agent, terminal, carrier ...).")
    reported_at: AwareDatetime | None = None


class Clock(_Event):
    """The plan's now moves on: calls that begin within the frozen window are no longer moved."""

    type: Literal[EventType.CLOCK] = EventType.CLOCK
    now: AwareDatetime


class Eta(_Event):
    """On a voyage's first call, the voyage's ETA; on a later call, the vessel's new estimate of
    its arrival there (it berths no earlier; once it has left the previous port, it arrives then)."""

    type: Literal[EventType.ETA] = EventType.ETA
    call_id: Id
    eta: AwareDatetime
    confidence: float | None = Field(default=None, ge=0, le=1)


class ActualArrival(_Event):
    """ATA: the vessel is at the port's anchorage (the clock is at least this late)."""

    type: Literal[EventType.ACTUAL_ARRIVAL] = EventType.ACTUAL_ARRIVAL
    call_id: Id
    time: AwareDatetime


class ActualBerthing(_Event):
    """ATB: the vessel is alongside this berth; it keeps it until its departure."""

    type: Literal[EventType.ACTUAL_BERTHING] = EventType.ACTUAL_BERTHING
    call_id: Id
    berth_id: Id
    time: AwareDatetime


class ActualDeparture(_Event):
    """ATD: the vessel has left the berth; the call is history."""

    type: Literal[EventType.ACTUAL_DEPARTURE] = EventType.ACTUAL_DEPARTURE
    call_id: Id
    time: AwareDatetime


class HandlingUpdate(_Event):
    """How much work is left on a call at berth, counted from the plan's now."""

    type: Literal[EventType.HANDLING_UPDATE] = EventType.HANDLING_UPDATE
    call_id: Id
    remaining_hours: float | None = Field(default=None, ge=0, le=24 * 60)
    remaining_quantity: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.remaining_hours is None) == (self.remaining_quantity is None):
            raise ValueError("give exactly one of remaining_hours and remaining_quantity")
        return self


class CargoReady(_Event):
    """The call's cargo (a grain train, a transshipment) is ready later or sooner: its earliest
    start is now this time."""

    type: Literal[EventType.CARGO_READY] = EventType.CARGO_READY
    call_id: Id
    time: AwareDatetime


class CallAdded(_Event):
    """A new call: after `after_call_id` in its vessel's voyage, or, without it, a new voyage of
    the vessel (which has none yet) arriving at `eta`."""

    type: Literal[EventType.CALL_ADDED] = EventType.CALL_ADDED
    call: Call
    after_call_id: Id | None = None
    eta: AwareDatetime | None = None

    @model_validator(mode="after")
    def _where(self) -> Self:
        if self.after_call_id is None and self.eta is None:
            raise ValueError("give after_call_id (a place in the vessel's voyage) or eta (a new voyage)")
        if self.after_call_id is not None and self.eta is not None:
            raise ValueError("give after_call_id or eta, not both")
        return self


class CallCancelled(_Event):
    type: Literal[EventType.CALL_CANCELLED] = EventType.CALL_CANCELLED
    call_id: Id


class _Window(_Event):
    """An event about a window of time [start, end)."""

    start: AwareDatetime
    end: AwareDatetime
    reason: Reason = ""

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError("end must be after start")
        return end


class ClosureEvent(_Window):
    """A weather closure of one port, or of every port (the basin) when `port_id` is absent; its
    event_id names it for closure_lifted."""

    type: Literal[EventType.CLOSURE] = EventType.CLOSURE
    port_id: Id | None = Field(default=None, description="None: the whole basin.")


class ClosureLifted(_Event):
    type: Literal[EventType.CLOSURE_LIFTED] = EventType.CLOSURE_LIFTED
    closure_event_id: EventId


class Maintenance(_Window):
    type: Literal[EventType.MAINTENANCE] = EventType.MAINTENANCE
    berth_id: Id


Event = Annotated[
    Clock | Eta | ActualArrival | ActualBerthing | ActualDeparture | HandlingUpdate | CargoReady
    | CallAdded | CallCancelled | ClosureEvent | ClosureLifted | Maintenance,
    Field(discriminator="type"),
]
EVENT = TypeAdapter(Event)
EVENTS = TypeAdapter(list[Event])


def event_time(e: Event) -> datetime | None:
    """The moment an event says the world has reached: an actual or a clock (None for others)."""
    if isinstance(e, Clock):
        return e.now
    if isinstance(e, ActualArrival | ActualBerthing | ActualDeparture):
        return e.time
    return None
