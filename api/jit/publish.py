"""portsync's answer to a new live-plan version: a `REQ` timestamp (RTA-Berth) for every call whose
requested berth arrival changed.

portsync is the Service Consumer of `BERTH` services, so it sends only `REQ`: per the standard,
`EST`, `PLN` and `ACT` come only from the Service Provider (the carrier). portsync never sends a
`PLN`; the agreed time is the carrier's `PLN`, echoing the REQ's `dateTime`.

The REQs are stored and readable with `GET /v2/timestamps?portCallServiceID=…`. Pushing them to
the carrier's own JIT endpoint (`PUT {carrier}/v2/timestamps/{timestampID}`) is not built: pass
`push`, a callable given each stored REQ after its transaction commits; that is the seam.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from pydantic import ValidationError

from api.db import Database
from api.db.models import JitTimestampRow
from api.jit import mapping
from api.jit.gateway import CallRef, LivePlanGateway
from api.jit.schemas import ClassifierCode, Decline, Timestamp
from api.jit.store import JitStore, body_json

log = logging.getLogger("portsync.api.jit")

#: (call_id, requested time of arrival at berth, the port's IANA time zone)
RequestedArrival = tuple[str, datetime, str]


def _call_ref(context: LivePlanGateway | Mapping[str, CallRef], live_plan_id: str,
              call_id: str) -> CallRef | None:
    if isinstance(context, Mapping):
        return context.get(call_id)
    ref = context.find_call(terminal_call_reference=call_id, un_location_code=None, imo=None, mmsi=None,
                            near=None)
    return ref if ref is not None and ref.live_plan_id == live_plan_id and ref.call_id == call_id else None


def publish_requests(db: Database | JitStore, context: LivePlanGateway | Mapping[str, CallRef],
                     live_plan_id: str, changes: Sequence[RequestedArrival],
                     push: Callable[[Timestamp], None] | None = None) -> list[Timestamp]:
    """One REQ per changed call, on the call's BERTH / ARRI service: the carrier's when it has sent
    one, else the one portsync derives (for which `context` — the gateway, or the calls by id — gives
    the port and vessel). `dateTime` is the RTA in the port's local time with its offset;
    `replyToTimestampID` is the service's immediately preceding timestamp, whoever sent it (none for
    a first). A call whose service the carrier cancelled or declined gets none; neither does one whose
    latest timestamp is already portsync's REQ for the same time (a version replayed). Returns the
    REQs stored, in the order of `changes`."""
    store = db if isinstance(db, JitStore) else JitStore(db)
    out: list[Timestamp] = []
    with store.db.session() as s:  # read: the calls without a service, whose records are derived
        missing = [cid for cid, _, _ in changes if store.berth_service(s, live_plan_id, cid) is None]
    # the gateway reads the live plans through its own connection: never inside a JIT transaction
    refs = {cid: _call_ref(context, live_plan_id, cid) for cid in dict.fromkeys(missing)}
    with store.db.session() as s:
        for call_id, rta, timezone in changes:
            service = store.berth_service(s, live_plan_id, call_id)
            if service is None:
                ref = refs.get(call_id)
                if ref is None or (ref.vessel_imo is None and ref.vessel_mmsi is None):
                    log.warning("no REQ for call %s of live plan %s: no carrier service and nothing to "
                                "derive one from (unknown call or vessel without IMO/MMSI)", call_id,
                                live_plan_id)
                    continue
                try:
                    service = store.derive(s, ref)
                except ValidationError as exc:  # e.g. a port id that is no UN/LOCODE
                    log.warning("no REQ for call %s of live plan %s: its records cannot be derived: %s",
                                call_id, live_plan_id, exc)
                    continue
            if service.cancelled or service.declined:
                continue
            when = mapping.local_time(rta, timezone)
            last = store.last_timestamp(s, service.port_call_service_id)
            if last is not None and last.classifier_code == ClassifierCode.REQ.value \
                    and last.origin == mapping.ORIGIN_PORTSYNC \
                    and Timestamp.model_validate_json(last.body).dateTime == when:
                continue
            ts = Timestamp(timestampID=uuid.uuid4(),
                           replyToTimestampID=uuid.UUID(last.timestamp_id) if last is not None else None,
                           portCallServiceID=uuid.UUID(service.port_call_service_id),
                           classifierCode=ClassifierCode.REQ, dateTime=when)
            s.add(JitTimestampRow(
                timestamp_id=str(ts.timestampID), port_call_service_id=service.port_call_service_id,
                classifier_code=ClassifierCode.REQ.value,
                reply_to_timestamp_id=last.timestamp_id if last is not None else None,
                origin=mapping.ORIGIN_PORTSYNC, live_plan_id=live_plan_id, call_id=call_id, revision=0,
                body=body_json(ts)))
            s.flush()
            out.append(ts)
    if push is not None:
        for ts in out:
            push(ts)
    return out


def decline_service(db: Database | JitStore, port_call_service_id: str, reason: str | None = None,
                    push: Callable[[str, Decline], None] | None = None) -> Decline:
    """The terminal declines a service (`POST /port-call-services/{id}/decline` is an endpoint of the
    carrier, the Service Provider: portsync sends it, never receives it). The service is marked
    `declined` here and gets no more REQs; `push(port_call_service_id, body)` is the seam for
    sending it."""
    store = db if isinstance(db, JitStore) else JitStore(db)
    store.decline_service(port_call_service_id)
    body = Decline(reason=reason)
    if push is not None:
        push(port_call_service_id, body)
    return body
