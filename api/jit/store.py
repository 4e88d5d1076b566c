"""The JIT records: what the carrier PUTs, what portsync derives and publishes, and the reads.

Every write goes through `JitStore`. The gateway (the live plans) is never called with a JIT
transaction open: a write reads in one short transaction, calls the gateway, then writes in
another. A carrier's timestamp that makes live-plan events is stored only once the live plan has
taken them (a refusal stores nothing); see `JitStore.put_timestamp` and api/jit/README.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.db import Database
from api.db.models import (
    JitPortCallRow,
    JitPortCallServiceRow,
    JitTerminalCallRow,
    JitTimestampRow,
    JitVesselStatusRow,
    utcnow,
)
from api.jit import mapping
from api.jit.errors import JitError, unknown
from api.jit.gateway import CallRef, EventsRefused, LivePlanGateway
from api.jit.schemas import (
    ClassifierCode,
    PortCall,
    PortCallService,
    PortCallServiceEventTypeCode,
    PortCallServiceTypeCode,
    TerminalCall,
    Timestamp,
    VesselStatus,
    dump,
)

Row = TypeVar("Row", JitPortCallRow, JitTerminalCallRow, JitPortCallServiceRow, JitTimestampRow)


def body_json(model: BaseModel) -> str:
    return json.dumps(dump(model), separators=(",", ":"), sort_keys=False)


def _refused(exc: EventsRefused) -> JitError:
    return JitError(400, f"the live plan refused the event: {exc.message}", text="refused by the live plan",
                    property=exc.field)


class JitStore:
    def __init__(self, db: Database):
        self.db = db

    # -- binding ---------------------------------------------------------------------------------
    #
    # One transaction discipline (api/jit/README.md, "Transactions"): the gateway is never called
    # with a JIT transaction open. A write reads what it needs in one short transaction, asks the
    # gateway (which finds calls and stores live-plan events through its own connections), then
    # writes in a second transaction. On SQLite a transaction that has written holds the database's
    # one write lock until it ends, so a live-plan write made meanwhile from another connection of
    # the same process waited for it (and failed, "database is locked", after the busy timeout).

    @staticmethod
    def _port_call_of(s: Session, port_call_id: str | None) -> _PortCallKey | None:
        pc = s.scalar(select(JitPortCallRow).where(JitPortCallRow.port_call_id == port_call_id))
        return _PortCallKey(pc.un_location_code, pc.vessel_imo, pc.vessel_mmsi) if pc is not None else None

    @staticmethod
    def _find(gateway: LivePlanGateway, reference: str | None, pc: _PortCallKey | None,
              near: datetime | None) -> CallRef | None:
        """The call a terminal call is about (no transaction may be open: the gateway reads the live
        plans through its own connection)."""
        return gateway.find_call(terminal_call_reference=reference,
                                 un_location_code=pc.un_location_code if pc else None,
                                 imo=pc.imo if pc else None, mmsi=pc.mmsi if pc else None,
                                 near=near or datetime.now(UTC))

    @staticmethod
    def _bind(s: Session, tc: JitTerminalCallRow, ref: CallRef) -> None:
        """Bind a carrier's terminal call (and its port call, services, timestamps) to a call."""
        pc = s.scalar(select(JitPortCallRow).where(JitPortCallRow.port_call_id == tc.port_call_id))
        binding = {"live_plan_id": ref.live_plan_id, "call_id": ref.call_id}
        tc.live_plan_id, tc.call_id = ref.live_plan_id, ref.call_id
        if pc is not None and pc.origin == mapping.ORIGIN_CARRIER:
            pc.live_plan_id, pc.call_id = ref.live_plan_id, ref.call_id
        s.flush()
        s.execute(update(JitPortCallServiceRow)
                  .where(JitPortCallServiceRow.terminal_call_id == tc.terminal_call_id).values(**binding))
        services = select(JitPortCallServiceRow.port_call_service_id).where(
            JitPortCallServiceRow.terminal_call_id == tc.terminal_call_id)
        s.execute(update(JitTimestampRow).where(JitTimestampRow.port_call_service_id.in_(services))
                  .values(**binding))

    def _provisional(self, s: Session, tc: JitTerminalCallRow) -> bool:
        """Bound not by its terminalCallReference but by time (nearest to when it was PUT), and no
        timestamp of its services has been received yet."""
        if tc.terminal_call_reference is not None and tc.terminal_call_reference == tc.call_id:
            return False
        services = select(JitPortCallServiceRow.port_call_service_id).where(
            JitPortCallServiceRow.terminal_call_id == tc.terminal_call_id)
        return s.scalar(select(JitTimestampRow.seq).where(
            JitTimestampRow.port_call_service_id.in_(services)).limit(1)) is None

    # -- what the carrier sends ------------------------------------------------------------------

    def put_port_call(self, body: PortCall, gateway: LivePlanGateway) -> None:
        pid = str(body.portCallID)
        key = _PortCallKey(body.UNLocationCode, body.vessel.vesselIMONumber, body.vessel.MMSINumber)
        with self.db.session() as s:  # read: the terminal calls still to bind
            unbound = [(tc.terminal_call_id, tc.terminal_call_reference) for tc in s.scalars(
                select(JitTerminalCallRow).where(JitTerminalCallRow.port_call_id == pid,
                                                 JitTerminalCallRow.live_plan_id.is_(None)))]
        found = {tid: ref for tid, reference in unbound
                 if (ref := self._find(gateway, reference, key, None)) is not None}
        with self.db.session() as s:
            row = s.scalar(select(JitPortCallRow).where(JitPortCallRow.port_call_id == pid))
            if row is None:
                row = JitPortCallRow(port_call_id=pid, origin=mapping.ORIGIN_CARRIER, omitted=False)
                s.add(row)
            row.un_location_code = body.UNLocationCode
            row.vessel_imo, row.vessel_mmsi = body.vessel.vesselIMONumber, body.vessel.MMSINumber
            row.body = body_json(body.model_copy(update={"omitted": row.omitted or None}))
            row.updated_at = utcnow()
            s.flush()
            for tc in s.scalars(select(JitTerminalCallRow).where(
                    JitTerminalCallRow.port_call_id == pid, JitTerminalCallRow.live_plan_id.is_(None))):
                if (ref := found.get(tc.terminal_call_id)) is not None:
                    self._bind(s, tc, ref)

    def put_terminal_call(self, body: TerminalCall, gateway: LivePlanGateway) -> None:
        tid = str(body.terminalCallID)

        def rebind(row: JitTerminalCallRow | None) -> bool:
            return row is None or row.live_plan_id is None \
                or row.terminal_call_reference != body.terminalCallReference

        with self.db.session() as s:  # read: whether it binds, and its port call
            wanted = rebind(s.scalar(select(JitTerminalCallRow)
                                     .where(JitTerminalCallRow.terminal_call_id == tid)))
            key = self._port_call_of(s, str(body.portCallID))
        ref = self._find(gateway, body.terminalCallReference, key, None) if wanted else None
        with self.db.session() as s:
            row = s.scalar(select(JitTerminalCallRow).where(JitTerminalCallRow.terminal_call_id == tid))
            again = rebind(row)
            if row is None:
                row = JitTerminalCallRow(terminal_call_id=tid, origin=mapping.ORIGIN_CARRIER, omitted=False)
                s.add(row)
            row.port_call_id = str(body.portCallID)
            row.terminal_call_reference = body.terminalCallReference
            row.body = body_json(body.model_copy(update={"omitted": row.omitted or None}))
            row.updated_at = utcnow()
            s.flush()
            if again and ref is not None:
                self._bind(s, row, ref)

    def put_service(self, body: PortCallService, gateway: LivePlanGateway) -> None:
        sid, tid = str(body.portCallServiceID), str(body.terminalCallID)
        with self.db.session() as s:  # read: its terminal call, if that is still to bind
            tc = s.scalar(select(JitTerminalCallRow).where(JitTerminalCallRow.terminal_call_id == tid))
            lookup = (tc.terminal_call_reference, self._port_call_of(s, tc.port_call_id)) \
                if tc is not None and tc.live_plan_id is None else None
        ref = self._find(gateway, *lookup, None) if lookup is not None else None
        with self.db.session() as s:
            row = s.scalar(select(JitPortCallServiceRow)
                           .where(JitPortCallServiceRow.port_call_service_id == sid))
            if row is None:
                row = JitPortCallServiceRow(port_call_service_id=sid, origin=mapping.ORIGIN_CARRIER,
                                            cancelled=False, declined=False)
                s.add(row)
            row.terminal_call_id = tid
            row.service_type_code = body.portCallServiceTypeCode.value
            row.event_type_code = body.portCallServiceEventTypeCode.value
            row.body = body_json(body.model_copy(update={"cancelled": row.cancelled or None,
                                                         "declined": row.declined or None}))
            row.updated_at = utcnow()
            tc = s.scalar(select(JitTerminalCallRow).where(JitTerminalCallRow.terminal_call_id == tid))
            s.flush()
            if tc is not None and tc.live_plan_id is None and ref is not None:
                self._bind(s, tc, ref)
            if tc is not None:
                row.live_plan_id, row.call_id = tc.live_plan_id, tc.call_id

    def put_timestamp(self, body: Timestamp, gateway: LivePlanGateway) -> None:
        """Store a carrier's timestamp and hand its events (if any) to the live plan. A timestamp for
        a service never PUT is a 400; so is a REQ (only the Service Consumer sends those) unless
        it is an FYI copy.

        In three steps, no transaction open across the gateway: read (the service, its binding, the
        timestamp as stored) and decide; post the events to the live plan (a refusal is a 400 and
        nothing is stored); store the timestamp, provided what was read has not changed meanwhile
        (else the steps run again). The events' ids are deterministic (`jit-<timestampID>[-r<n>]`),
        so a timestamp whose events were posted but which was not stored (a crash in between, a
        retry) posts the same events again when re-sent, and the live plan takes them once."""
        if body.classifierCode == ClassifierCode.REQ and not body.isFYI:
            raise JitError(400, "a REQ timestamp is sent only by the Service Consumer (the terminal)",
                           text="classifierCode not allowed", property="classifierCode")
        for _ in range(_ATTEMPTS):
            step = self._read_timestamp(body, gateway)
            if step.events and step.live_plan_id is not None:
                try:
                    gateway.post_events(step.live_plan_id, step.events)
                except EventsRefused as exc:
                    raise _refused(exc) from exc
            if self._write_timestamp(body, step):
                return
        raise JitError(409, "other requests kept changing this timestamp's service; send it again",
                       text="concurrent write", property="timestampID")

    def _read_timestamp(self, body: Timestamp, gateway: LivePlanGateway) -> _TimestampStep:
        tid, sid = str(body.timestampID), str(body.portCallServiceID)
        with self.db.session() as s:  # read only
            service = s.scalar(select(JitPortCallServiceRow)
                               .where(JitPortCallServiceRow.port_call_service_id == sid))
            if service is None:
                raise unknown("Port Call Service", "portCallServiceID", sid)
            tc = s.scalar(select(JitTerminalCallRow)
                          .where(JitTerminalCallRow.terminal_call_id == service.terminal_call_id))
            # Not bound, or bound only by "nearest to now": the first timestamp's time is the better
            # guess of which call it is.
            lookup = (tc.terminal_call_reference, self._port_call_of(s, tc.port_call_id)) \
                if tc is not None and tc.origin == mapping.ORIGIN_CARRIER \
                and (tc.live_plan_id is None or self._provisional(s, tc)) else None
            row = s.scalar(select(JitTimestampRow).where(JitTimestampRow.timestamp_id == tid))
            step = _TimestampStep(
                seen=_seen(service, tc, row), service_type=service.service_type_code,
                event_type=service.event_type_code, live_plan_id=service.live_plan_id,
                call_id=service.call_id)
        if lookup is not None:
            step.bind = self._find(gateway, *lookup, body.dateTime)
            if step.bind is not None:
                step.live_plan_id, step.call_id = step.bind.live_plan_id, step.bind.call_id
        text = body_json(body)
        if row is not None and row.body == text:
            step.store = False  # an identical re-send: nothing to store or post (a binding, maybe)
            return step
        step.changed = row is None or _moment(row.body) != (body.classifierCode.value, body.dateTime)
        step.revision = 0 if row is None else row.revision + (1 if step.changed else 0)
        if step.changed and step.live_plan_id is not None and step.call_id is not None:
            step.events = mapping.events_for(body, step.service_type, step.event_type, step.call_id,
                                             step.revision)
        return step

    def _write_timestamp(self, body: Timestamp, step: _TimestampStep) -> bool:
        """Store what `step` decided; False (nothing written) when the service, its terminal call's
        binding or the stored timestamp changed since it was read."""
        tid, sid = str(body.timestampID), str(body.portCallServiceID)
        with self.db.session() as s:
            service = s.scalar(select(JitPortCallServiceRow)
                               .where(JitPortCallServiceRow.port_call_service_id == sid))
            assert service is not None  # services are never deleted
            tc = s.scalar(select(JitTerminalCallRow)
                          .where(JitTerminalCallRow.terminal_call_id == service.terminal_call_id))
            row = s.scalar(select(JitTimestampRow).where(JitTimestampRow.timestamp_id == tid))
            if _seen(service, tc, row) != step.seen:
                return False
            if step.bind is not None and tc is not None:
                self._bind(s, tc, step.bind)
                s.refresh(service)
            if not step.store:
                return True
            if row is None:
                row = JitTimestampRow(timestamp_id=tid, origin=mapping.ORIGIN_CARRIER, revision=0)
                s.add(row)
            row.revision = step.revision
            row.port_call_service_id = sid
            row.classifier_code = body.classifierCode.value
            row.reply_to_timestamp_id = str(body.replyToTimestampID) if body.replyToTimestampID else None
            row.live_plan_id, row.call_id = service.live_plan_id, service.call_id
            row.body = body_json(body)
            row.updated_at = utcnow()
            return True

    def put_vessel_status(self, body: VesselStatus) -> None:
        sid = str(body.portCallServiceID)
        with self.db.session() as s:
            if s.scalar(select(JitPortCallServiceRow.seq)
                        .where(JitPortCallServiceRow.port_call_service_id == sid)) is None:
                raise unknown("Port Call Service", "portCallServiceID", sid, 404)
            row = s.get(JitVesselStatusRow, sid)
            if row is None:
                row = JitVesselStatusRow(port_call_service_id=sid)
                s.add(row)
            row.body = body_json(body)
            row.updated_at = utcnow()

    def omit_port_call(self, port_call_id: str, gateway: LivePlanGateway) -> None:
        """The carrier omits the port call (and so its terminal calls): a bound call is cancelled in
        its live plan (`call_cancelled`), then the records are marked `omitted` (a refusal of the
        live plan is a 400 and marks nothing; the event ids are the omit's, so a re-sent omit
        posts nothing new)."""
        with self.db.session() as s:  # read: what is bound
            pc = s.scalar(select(JitPortCallRow).where(JitPortCallRow.port_call_id == port_call_id))
            if pc is None:
                raise unknown("Port Call", "portCallID", port_call_id, 404)
            tcs = list(s.scalars(select(JitTerminalCallRow)
                                 .where(JitTerminalCallRow.port_call_id == port_call_id)))
            bound = _bound([pc, *tcs])
        self._cancel_calls(gateway, f"jit-omit-{port_call_id}", bound)
        with self.db.session() as s:
            pc = s.scalar(select(JitPortCallRow).where(JitPortCallRow.port_call_id == port_call_id))
            assert pc is not None  # records are never deleted
            _mark(pc, "omitted")
            for tc in s.scalars(select(JitTerminalCallRow)
                                .where(JitTerminalCallRow.port_call_id == port_call_id)):
                _mark(tc, "omitted")

    def omit_terminal_call(self, terminal_call_id: str, gateway: LivePlanGateway) -> None:
        def find(s: Session) -> JitTerminalCallRow | None:
            return s.scalar(select(JitTerminalCallRow)
                            .where(JitTerminalCallRow.terminal_call_id == terminal_call_id))

        with self.db.session() as s:  # read: what is bound
            tc = find(s)
            if tc is None:
                raise unknown("Terminal Call", "terminalCallID", terminal_call_id, 404)
            bound = _bound([tc])
        self._cancel_calls(gateway, f"jit-omit-{terminal_call_id}", bound)
        with self.db.session() as s:
            tc = find(s)
            assert tc is not None
            _mark(tc, "omitted")

    def cancel_service(self, port_call_service_id: str) -> None:
        """The carrier cancels a service: marked `cancelled`; no REQ is published to it any more.
        (The call itself stays in the live plan: a cancelled berth service is not an omitted call.)"""
        with self.db.session() as s:
            row = s.scalar(select(JitPortCallServiceRow)
                           .where(JitPortCallServiceRow.port_call_service_id == port_call_service_id))
            if row is None:
                raise unknown("Port Call Service", "portCallServiceID", port_call_service_id, 404)
            _mark(row, "cancelled")

    def decline_service(self, port_call_service_id: str) -> PortCallService:
        """portsync (the terminal) declines a service: marked `declined`, no REQ is published to it
        any more. Returns the service; sending `POST {carrier}/v2/port-call-services/{id}/decline`
        (an endpoint of the Service Provider) is the caller's, as for REQs (api.jit.publish)."""
        with self.db.session() as s:
            row = s.scalar(select(JitPortCallServiceRow)
                           .where(JitPortCallServiceRow.port_call_service_id == port_call_service_id))
            if row is None:
                raise unknown("Port Call Service", "portCallServiceID", port_call_service_id, 404)
            _mark(row, "declined")
            return PortCallService.model_validate_json(row.body)

    @staticmethod
    def _cancel_calls(gateway: LivePlanGateway, event_id: str, by_plan: dict[str, set[str]]) -> None:
        """`call_cancelled` for each call (no transaction may be open: the live plan stores them)."""
        for plan, calls in by_plan.items():
            events = [{"event_id": f"{event_id}-{c}", "type": "call_cancelled", "call_id": c,
                       "source": "DCSA JIT omit"} for c in sorted(calls)]
            try:
                gateway.post_events(plan, events)
            except EventsRefused as exc:
                raise _refused(exc) from exc

    # -- reads -----------------------------------------------------------------------------------

    def port_calls(self, *, portCallID: str | None = None, portVisitReference: str | None = None,
                   UNLocationCode: str | None = None, vesselIMONumber: str | None = None,
                   vesselName: str | None = None, MMSINumber: str | None = None) -> list[dict[str, Any]]:
        q = select(JitPortCallRow).order_by(JitPortCallRow.seq)
        if portCallID is not None:
            q = q.where(JitPortCallRow.port_call_id == portCallID)
        if UNLocationCode is not None:
            q = q.where(JitPortCallRow.un_location_code == UNLocationCode)
        if vesselIMONumber is not None:
            q = q.where(JitPortCallRow.vessel_imo == vesselIMONumber)
        if MMSINumber is not None:
            q = q.where(JitPortCallRow.vessel_mmsi == MMSINumber)
        out = self._bodies(q)
        return [b for b in out if _match(b, {"portVisitReference": portVisitReference})
                and (vesselName is None or b.get("vessel", {}).get("name") == vesselName)]

    def terminal_calls(self, *, portCallID: str | None = None, terminalCallID: str | None = None,
                       terminalCallReference: str | None = None,
                       **others: str | None) -> list[dict[str, Any]]:
        """`others`: carrierServiceName, carrierServiceCode, universalServiceReference and the voyage
        numbers and references, matched on the body."""
        q = select(JitTerminalCallRow).order_by(JitTerminalCallRow.seq)
        if portCallID is not None:
            q = q.where(JitTerminalCallRow.port_call_id == portCallID)
        if terminalCallID is not None:
            q = q.where(JitTerminalCallRow.terminal_call_id == terminalCallID)
        if terminalCallReference is not None:
            q = q.where(JitTerminalCallRow.terminal_call_reference == terminalCallReference)
        return [b for b in self._bodies(q) if _match(b, others)]

    def services(self, *, terminalCallID: str | None = None, portCallServiceID: str | None = None,
                 portCallServiceTypeCode: str | None = None) -> list[dict[str, Any]]:
        q = select(JitPortCallServiceRow).order_by(JitPortCallServiceRow.seq)
        if terminalCallID is not None:
            q = q.where(JitPortCallServiceRow.terminal_call_id == terminalCallID)
        if portCallServiceID is not None:
            q = q.where(JitPortCallServiceRow.port_call_service_id == portCallServiceID)
        if portCallServiceTypeCode is not None:
            q = q.where(JitPortCallServiceRow.service_type_code == portCallServiceTypeCode)
        return self._bodies(q)

    def timestamps(self, *, portCallServiceID: str | None = None, timestampID: str | None = None,
                   classifierCode: str | None = None) -> list[dict[str, Any]]:
        """In the order they arrived (or were published)."""
        q = select(JitTimestampRow).order_by(JitTimestampRow.seq)
        if portCallServiceID is not None:
            q = q.where(JitTimestampRow.port_call_service_id == portCallServiceID)
        if timestampID is not None:
            q = q.where(JitTimestampRow.timestamp_id == timestampID)
        if classifierCode is not None:
            q = q.where(JitTimestampRow.classifier_code == classifierCode)
        return self._bodies(q)

    def vessel_statuses(self, portCallServiceID: str) -> list[dict[str, Any]]:
        with self.db.session() as s:
            row = s.get(JitVesselStatusRow, portCallServiceID)
            return [json.loads(row.body)] if row is not None else []

    def _bodies(self, q: Any) -> list[dict[str, Any]]:
        with self.db.session() as s:
            return [json.loads(r.body) for r in s.scalars(q)]

    # -- for publishing --------------------------------------------------------------------------

    def berth_service(self, s: Session, live_plan_id: str, call_id: str) -> JitPortCallServiceRow | None:
        """The BERTH / ARRI service of a call REQs go to: the carrier's (the newest) when it has sent
        one, else portsync's derived one; None when there is neither."""
        rows = list(s.scalars(select(JitPortCallServiceRow).where(
            JitPortCallServiceRow.live_plan_id == live_plan_id, JitPortCallServiceRow.call_id == call_id,
            JitPortCallServiceRow.service_type_code == PortCallServiceTypeCode.BERTH.value,
            JitPortCallServiceRow.event_type_code == PortCallServiceEventTypeCode.ARRI.value,
        ).order_by(JitPortCallServiceRow.seq.desc())))
        carrier = [r for r in rows if r.origin == mapping.ORIGIN_CARRIER]
        return carrier[0] if carrier else (rows[0] if rows else None)

    def derive(self, s: Session, ref: CallRef) -> JitPortCallServiceRow:
        """Store portsync's own Port Call, Terminal Call and BERTH service for a call (idempotent)."""
        port_call, terminal_call, service = mapping.derived_records(ref)
        bind = {"origin": mapping.ORIGIN_PORTSYNC, "live_plan_id": ref.live_plan_id, "call_id": ref.call_id}
        if s.scalar(select(JitPortCallRow).where(JitPortCallRow.port_call_id == str(port_call.portCallID))) \
                is None:
            s.add(JitPortCallRow(port_call_id=str(port_call.portCallID), un_location_code=ref.port_id,
                                 vessel_imo=ref.vessel_imo, vessel_mmsi=ref.vessel_mmsi, omitted=False,
                                 body=body_json(port_call), **bind))
        if s.scalar(select(JitTerminalCallRow).where(
                JitTerminalCallRow.terminal_call_id == str(terminal_call.terminalCallID))) is None:
            s.add(JitTerminalCallRow(terminal_call_id=str(terminal_call.terminalCallID),
                                     port_call_id=str(port_call.portCallID),
                                     terminal_call_reference=ref.call_id, omitted=False,
                                     body=body_json(terminal_call), **bind))
        row = s.scalar(select(JitPortCallServiceRow).where(
            JitPortCallServiceRow.port_call_service_id == str(service.portCallServiceID)))
        if row is None:
            row = JitPortCallServiceRow(
                port_call_service_id=str(service.portCallServiceID),
                terminal_call_id=str(terminal_call.terminalCallID),
                service_type_code=PortCallServiceTypeCode.BERTH.value,
                event_type_code=PortCallServiceEventTypeCode.ARRI.value, cancelled=False, declined=False,
                body=body_json(service), **bind)
            s.add(row)
        s.flush()
        return row

    def last_timestamp(self, s: Session, port_call_service_id: str) -> JitTimestampRow | None:
        return s.scalar(select(JitTimestampRow)
                        .where(JitTimestampRow.port_call_service_id == port_call_service_id)
                        .order_by(JitTimestampRow.seq.desc()).limit(1))


#: How often a timestamp's read-post-write steps run when other requests change its records meanwhile.
_ATTEMPTS = 3


@dataclass(frozen=True)
class _PortCallKey:
    """What names a call besides a terminalCallReference: the port and the vessel."""

    un_location_code: str | None
    imo: str | None
    mmsi: str | None


@dataclass
class _TimestampStep:
    """What a carrier's timestamp does, decided from one read (JitStore.put_timestamp)."""

    seen: tuple[Any, ...]  # the records it was decided from (see _seen)
    service_type: str
    event_type: str
    live_plan_id: str | None  # the call the service is (or will be) bound to
    call_id: str | None
    bind: CallRef | None = None  # a binding of its terminal call to store with it
    store: bool = True  # False: an identical re-send
    changed: bool = False
    revision: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)


def _seen(service: JitPortCallServiceRow, tc: JitTerminalCallRow | None,
          row: JitTimestampRow | None) -> tuple[Any, ...]:
    return (service.terminal_call_id, service.service_type_code, service.event_type_code,
            service.live_plan_id, service.call_id,
            (tc.live_plan_id, tc.call_id, tc.terminal_call_reference, tc.port_call_id) if tc else None,
            (row.revision, row.body) if row is not None else None)


def _bound(rows: Iterable[JitPortCallRow | JitTerminalCallRow]) -> dict[str, set[str]]:
    by_plan: dict[str, set[str]] = {}
    for r in rows:
        if r.live_plan_id is not None and r.call_id is not None:
            by_plan.setdefault(r.live_plan_id, set()).add(r.call_id)
    return by_plan


def _moment(body: str) -> tuple[str, datetime]:
    data = json.loads(body)
    return data["classifierCode"], datetime.fromisoformat(data["dateTime"])


def _mark(row: JitPortCallRow | JitTerminalCallRow | JitPortCallServiceRow, flag: str) -> None:
    setattr(row, flag, True)
    data = json.loads(row.body)
    data[flag] = True
    row.body = json.dumps(data, separators=(",", ":"))
    row.updated_at = utcnow()


def _match(body: dict[str, Any], wanted: dict[str, str | None]) -> bool:
    return all(v is None or body.get(k) == v for k, v in wanted.items())
