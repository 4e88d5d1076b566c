"""DCSA JIT for live plans: the live plans as the JIT module's gateway (api.jit.LivePlanGateway),
and the requested arrivals of a version that become REQ timestamps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from api.db.models import LivePlanRow, LivePlanStatus
from api.jit import CallRef
from api.jit import EventsRefused as JitEventsRefused
from api.live.store import EVENT_LIST, LiveStore
from optimizer.domain import Problem
from optimizer.live.replan import Version
from optimizer.live.state import EventConflict, EventsRefused, LiveState


class LiveGateway:
    """api.jit.LivePlanGateway over the live plans: a Terminal Call names its call by
    `terminalCallReference` = the call id; without it, by port + vessel IMO/MMSI, the call nearest
    in time. Events from carriers go through the same checks as POSTed ones."""

    def __init__(self, store: LiveStore, on_events: Callable[[], None] | None = None):
        self.store = store
        self.on_events = on_events  # the replanner's wake-up

    def _plans(self) -> list[tuple[str, LiveState]]:
        with self.store.db.session() as s:
            rows = s.execute(
                select(LivePlanRow.id, LivePlanRow.state)
                .where(LivePlanRow.status != LivePlanStatus.FAILED.value)
                .order_by(LivePlanRow.seq.desc())
            )
            return [(pid, LiveState.model_validate_json(st)) for pid, st in rows]

    def find_call(
        self,
        *,
        terminal_call_reference: str | None,
        un_location_code: str | None,
        imo: str | None,
        mmsi: str | None,
        near: datetime | None,
    ) -> CallRef | None:
        best: tuple[float, CallRef] | None = None
        for plan_id, state in self._plans():
            p = state.problem
            refs = call_refs(plan_id, p)
            for c in p.calls:
                ref = refs[c.id]
                if terminal_call_reference is not None:
                    if c.id == terminal_call_reference:
                        return ref
                    continue
                if c.port_id != un_location_code or not (
                    (imo and ref.vessel_imo == imo) or (mmsi and ref.vessel_mmsi == mmsi)
                ):
                    continue
                voyage, _ = p.voyage_order()[c.id]
                when = state.reported_etas.get(c.id) or voyage.eta
                gap = abs((when - (near or state.now)).total_seconds())
                if best is None or gap < best[0]:
                    best = (gap, ref)
        return best[1] if best is not None else None

    def post_events(self, live_plan_id: str, events: list[dict[str, Any]]) -> None:
        try:
            parsed = EVENT_LIST.validate_python(events)
            self.store.accept(live_plan_id, parsed)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise JitEventsRefused(err["msg"], ".".join(str(x) for x in err["loc"])) from None
        except EventsRefused as exc:
            issue = exc.issues[0]
            raise JitEventsRefused(issue.msg, ".".join(str(x) for x in issue.loc[2:]) or None) from None
        except EventConflict as exc:
            raise JitEventsRefused(str(exc), "event_id") from None
        if self.on_events is not None:
            self.on_events()


def call_refs(plan_id: str, problem: Problem) -> dict[str, CallRef]:
    """What a Port Call needs to name each call of a problem (port, time zone, vessel ids)."""
    vessels = problem.vessel_map()
    zones = {p.id: p.timezone for p in problem.ports}
    return {
        c.id: CallRef(
            live_plan_id=plan_id,
            call_id=c.id,
            port_id=c.port_id,
            timezone=zones[c.port_id],
            vessel_imo=vessels[c.vessel_id].imo,
            vessel_mmsi=vessels[c.vessel_id].mmsi,
            vessel_name=vessels[c.vessel_id].name or None,
        )
        for c in problem.calls
    }


def requested_arrivals(version: Version) -> list[tuple[str, datetime, str]]:
    """(call, RTA, port time zone) of every call whose requested arrival this version changed (all
    calls for version 1): what the JIT module answers carriers with, as REQ timestamps."""
    ports = {p.id: p.timezone for p in version.problem.ports}
    calls = version.problem.call_map()
    planned = version.plan.by_call()
    if version.number == 1:
        ids = list(planned)
    else:
        ids = [
            ch.call_id
            for ch in version.changes
            if ch.call_id in planned and (ch.berth_before is None or (ch.rta_shift_minutes or 0) != 0)
        ]
    return [
        (cid, planned[cid].arrival, ports[calls[cid].port_id])
        for cid in ids
        if calls[cid].frozen is None or version.number == 1
    ]
