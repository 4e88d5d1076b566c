"""Between portsync's calls and the standard's records.

Every call of a live plan is one Port Call (`UNLocationCode` = the call's port, a UN/LOCODE; the
vessel's IMO, MMSI and name), one Terminal Call (`terminalCallReference` = the portsync call id) and
one `BERTH` / `ARRI` Port Call Service, the service portsync's REQs (RTA-Berth) go to.

- **Bound to the carrier's records.** When the carrier PUTs a Terminal Call, it is bound to a call
  through the gateway: by `terminalCallReference` when it names a call, otherwise by the Port Call's
  `UNLocationCode` + vessel IMO / MMSI + the call nearest in time. Its port call and its services are
  bound with it, and their ids are the ones used from then on.
- **Derived.** While the carrier has sent nothing for a call, portsync derives the three records,
  their ids uuid5 of (live_plan_id, call_id): the same call always gets the same ids, so REQs can be
  published (and re-published) before the carrier has spoken.

Timestamps become live-plan events (optimizer/live/events.py) only for `BERTH` services: `EST` on
ARRI → `eta`; `ACT` on ARRI → `actual_arrival`; `ACT` on DEPA → `actual_departure`. `PLN` (the agreed
time) and `REQ` are stored, not events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from api.jit.gateway import CallRef
from api.jit.schemas import (
    ClassifierCode,
    PortCall,
    PortCallService,
    PortCallServiceEventTypeCode,
    PortCallServiceLocation,
    PortCallServiceTypeCode,
    TerminalCall,
    Timestamp,
    Vessel,
)

#: The namespace of derived ids (uuid5 of "portsync:jit:<live_plan_id>:<call_id>:<record>").
NAMESPACE = uuid.UUID("6b1f4e0a-2c36-5b5e-9d7e-7a3f0c1d2e41")
#: Required by TerminalCall; a derived one has no carrier service to name.
DERIVED_SERVICE_NAME = "not sent by the carrier"
DERIVED_SERVICE_CODE = "UNKNOWN"

ORIGIN_CARRIER = "carrier"
ORIGIN_PORTSYNC = "portsync"


@dataclass(frozen=True)
class DerivedIds:
    port_call_id: uuid.UUID
    terminal_call_id: uuid.UUID
    port_call_service_id: uuid.UUID


def derived_ids(live_plan_id: str, call_id: str) -> DerivedIds:
    def make(record: str) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, f"portsync:jit:{live_plan_id}:{call_id}:{record}")

    return DerivedIds(make("port-call"), make("terminal-call"), make("berth-arri"))


def vessel_of(ref: CallRef) -> Vessel:
    return Vessel(vesselIMONumber=ref.vessel_imo, MMSINumber=ref.vessel_mmsi, name=ref.vessel_name)


def derived_records(ref: CallRef) -> tuple[PortCall, TerminalCall, PortCallService]:
    """The Port Call, Terminal Call and BERTH Port Call Service portsync uses for a call the carrier
    has sent nothing for. Needs the vessel's IMO or MMSI (the standard's condition on Vessel)."""
    ids = derived_ids(ref.live_plan_id, ref.call_id)
    port_call = PortCall(portCallID=ids.port_call_id, UNLocationCode=ref.port_id, vessel=vessel_of(ref))
    terminal_call = TerminalCall(terminalCallID=ids.terminal_call_id, portCallID=ids.port_call_id,
                                 terminalCallReference=ref.call_id, carrierServiceName=DERIVED_SERVICE_NAME,
                                 carrierServiceCode=DERIVED_SERVICE_CODE)
    service = PortCallService(
        terminalCallID=ids.terminal_call_id, portCallServiceID=ids.port_call_service_id,
        portCallServiceTypeCode=PortCallServiceTypeCode.BERTH,
        portCallServiceEventTypeCode=PortCallServiceEventTypeCode.ARRI,
        portCallServiceLocation=PortCallServiceLocation(UNLocationCode=ref.port_id))
    return port_call, terminal_call, service


def local_time(moment: datetime, timezone: str) -> datetime:
    """`moment` in the port's local time with its offset (Asia/Aqtau +05:00, Asia/Baku +04:00),
    exactly: a requested time is the plan's, not rounded after the plan was checked (RFC 3339
    date-times may carry fractions of a second)."""
    if moment.tzinfo is None:
        raise ValueError("a time without an offset cannot be placed in a port's time zone")
    return moment.astimezone(ZoneInfo(timezone))


def events_for(ts: Timestamp, service_type: str, event_type: str, call_id: str,
               revision: int = 0) -> list[dict[str, Any]]:
    """The live-plan events a carrier's timestamp makes (none for most). The event id is
    `jit-<timestampID>`, with `-r<n>` when the carrier re-sent the timestamp with another time."""
    if service_type != PortCallServiceTypeCode.BERTH or ts.isFYI:
        return []
    event_id = f"jit-{ts.timestampID}" + (f"-r{revision}" if revision else "")
    when = ts.dateTime.isoformat()
    arri = event_type == PortCallServiceEventTypeCode.ARRI
    depa = event_type == PortCallServiceEventTypeCode.DEPA
    if ts.classifierCode == ClassifierCode.EST and arri:
        return [{"event_id": event_id, "type": "eta", "call_id": call_id, "eta": when,
                 "source": "DCSA JIT EST"}]
    if ts.classifierCode == ClassifierCode.ACT and arri:
        return [{"event_id": event_id, "type": "actual_arrival", "call_id": call_id, "time": when,
                 "source": "DCSA JIT ACT"}]
    if ts.classifierCode == ClassifierCode.ACT and depa:
        return [{"event_id": event_id, "type": "actual_departure", "call_id": call_id, "time": when,
                 "source": "DCSA JIT ACT"}]
    return []
