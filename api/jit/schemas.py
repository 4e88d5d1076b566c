"""The DCSA Just-in-Time Port Call 2.0.0 bodies portsync receives and sends, field for field as in
`../shared/standards/dcsa-jit-2.0.0/JIT_v2.0.0.yaml` (components/schemas): the standard's camelCase
names, its required fields, patterns, lengths and enums.

Fields are the standard's names themselves (no aliases). Properties a sender adds beyond the schema
are ignored on input and never written back. `isFYI` is writeOnly in the standard: read, never
returned (`dump` leaves it out); `omitted`, `cancelled` and `declined` are readOnly: set by the
omit / cancel / decline messages, not taken from a body.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from optimizer.domain import text_fault

API_VERSION = "2.0.0"

#: `^\S(?:.*\S)?$`: no leading or trailing white space (the standard's pattern for names and codes).
TRIMMED = r"^\S(?:.*\S)?$"
UNLocode = Annotated[str, Field(pattern=r"^[A-Z]{2}[A-Z2-9]{3}$", min_length=5, max_length=5)]
IMONumberStr = Annotated[str, Field(pattern=r"^\d{7,8}$", min_length=7, max_length=8)]
MMSINumberStr = Annotated[str, Field(pattern=r"^\d{9}$", min_length=9, max_length=9)]
Reason = Annotated[str, Field(max_length=500)]


class ClassifierCode(StrEnum):
    """`EST`, `PLN`, `ACT` come only from the Service Provider, `REQ` only from the Service Consumer."""

    ACT = "ACT"
    EST = "EST"
    PLN = "PLN"
    REQ = "REQ"


class PortCallServiceTypeCode(StrEnum):
    """The values the standard lists for `portCallServiceTypeCode` (a string of at most 50 there)."""

    BERTH = "BERTH"
    CARGO_OPERATIONS = "CARGO_OPERATIONS"
    PILOTAGE = "PILOTAGE"
    TOWAGE = "TOWAGE"
    MOORING = "MOORING"
    BUNKERING = "BUNKERING"
    PILOT_BOARDING_PLACE = "PILOT_BOARDING_PLACE"
    ANCHORAGE = "ANCHORAGE"
    SLUDGE = "SLUDGE"
    SEA_PASSAGE = "SEA_PASSAGE"
    ALL_FAST = "ALL_FAST"
    GANGWAY_DOWN_AND_SECURE = "GANGWAY_DOWN_AND_SECURE"
    VESSEL_READY_FOR_CARGO_OPERATIONS = "VESSEL_READY_FOR_CARGO_OPERATIONS"
    VESSEL_READY_TO_SAIL = "VESSEL_READY_TO_SAIL"
    DISCHARGE_CARGO_OPERATIONS = "DISCHARGE_CARGO_OPERATIONS"
    LOADING_CARGO_OPERATIONS = "LOADING_CARGO_OPERATIONS"
    LASHING = "LASHING"
    SAFETY = "SAFETY"
    ANCHORAGE_OPERATIONS = "ANCHORAGE_OPERATIONS"
    SHORE_POWER = "SHORE_POWER"
    MOVES = "MOVES"


class PortCallServiceEventTypeCode(StrEnum):
    STRT = "STRT"
    CMPL = "CMPL"
    ARRI = "ARRI"
    DEPA = "DEPA"


class PortCallPhaseTypeCode(StrEnum):
    INBD = "INBD"
    ALGS = "ALGS"
    SHIF = "SHIF"
    OUTB = "OUTB"


class FacilityTypeCode(StrEnum):
    PBPL = "PBPL"
    BRTH = "BRTH"
    ANCH = "ANCH"


class FacilityCodeListProvider(StrEnum):
    BIC = "BIC"
    SMDG = "SMDG"


class DimensionUnit(StrEnum):
    MTR = "MTR"
    FOT = "FOT"


class VesselTypeCode(StrEnum):
    GCGO = "GCGO"
    CONT = "CONT"
    RORO = "RORO"
    CARC = "CARC"
    PASS = "PASS"
    FERY = "FERY"
    BULK = "BULK"
    TANK = "TANK"
    LGTK = "LGTK"
    ASSI = "ASSI"
    PILO = "PILO"


class HttpMethod(StrEnum):
    GET = "GET"
    HEAD = "HEAD"
    POST = "POST"
    PUT = "PUT"
    DELETE = "DELETE"
    OPTIONS = "OPTIONS"
    PATCH = "PATCH"


#: The event types a service type may go with (the standard's conditions on portCallServiceEventTypeCode).
EVENT_TYPES: dict[PortCallServiceTypeCode, frozenset[PortCallServiceEventTypeCode]] = {
    **{t: frozenset({PortCallServiceEventTypeCode.STRT, PortCallServiceEventTypeCode.CMPL}) for t in (
        PortCallServiceTypeCode.CARGO_OPERATIONS, PortCallServiceTypeCode.PILOTAGE,
        PortCallServiceTypeCode.TOWAGE, PortCallServiceTypeCode.MOORING, PortCallServiceTypeCode.BUNKERING,
        PortCallServiceTypeCode.ANCHORAGE, PortCallServiceTypeCode.SLUDGE,
        PortCallServiceTypeCode.SEA_PASSAGE, PortCallServiceTypeCode.DISCHARGE_CARGO_OPERATIONS,
        PortCallServiceTypeCode.LOADING_CARGO_OPERATIONS, PortCallServiceTypeCode.LASHING,
        PortCallServiceTypeCode.ANCHORAGE_OPERATIONS, PortCallServiceTypeCode.SHORE_POWER)},
    PortCallServiceTypeCode.BERTH: frozenset({PortCallServiceEventTypeCode.ARRI,
                                              PortCallServiceEventTypeCode.DEPA}),
    **{t: frozenset({PortCallServiceEventTypeCode.ARRI}) for t in (
        PortCallServiceTypeCode.PILOT_BOARDING_PLACE, PortCallServiceTypeCode.ALL_FAST,
        PortCallServiceTypeCode.GANGWAY_DOWN_AND_SECURE,
        PortCallServiceTypeCode.VESSEL_READY_FOR_CARGO_OPERATIONS,
        PortCallServiceTypeCode.VESSEL_READY_TO_SAIL, PortCallServiceTypeCode.MOVES)},
    PortCallServiceTypeCode.SAFETY: frozenset({PortCallServiceEventTypeCode.DEPA}),
}


def _fault(v: Any) -> str | None:
    if isinstance(v, str):
        return text_fault(v)
    if isinstance(v, list):
        return next((f"item {i} {f}" for i, x in enumerate(v) if (f := _fault(x))), None)
    if isinstance(v, dict):
        return next((f"{json.dumps(k)}: {f}" for k, x in v.items() if (f := _fault(k) or _fault(x))), None)
    return None


class JitModel(BaseModel):
    """Extra properties are ignored (never stored or echoed); enums are written as their codes; no
    string may hold a NUL or a lone surrogate (it could be neither stored nor written back)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", use_enum_values=False)

    @field_validator("*", mode="before")
    @classmethod
    def _safe_text(cls, v: Any) -> Any:
        if isinstance(v, str | list | dict) and (fault := _fault(v)):
            raise PydanticCustomError("string_unsafe", "{fault}", {"fault": fault})
        return v


def dump(model: BaseModel) -> dict[str, Any]:
    """The body as portsync writes it: JSON types, no absent fields, no writeOnly `isFYI`."""
    out: dict[str, Any] = model.model_dump(mode="json", exclude_none=True, exclude={"isFYI"})
    return out


class Vessel(JitModel):
    """At least one of `vesselIMONumber` and `MMSINumber` (the standard's condition)."""

    vesselIMONumber: IMONumberStr | None = None
    MMSINumber: MMSINumberStr | None = None
    name: Annotated[str, Field(pattern=TRIMMED, max_length=50)] | None = None
    lengthOverall: float | None = None
    width: float | None = None
    dimensionUnit: DimensionUnit | None = None
    callSign: Annotated[str, Field(pattern=TRIMMED, max_length=10)] | None = None
    typeCode: VesselTypeCode | None = None

    @model_validator(mode="after")
    def _identified(self) -> Self:
        if self.vesselIMONumber is None and self.MMSINumber is None:
            raise ValueError("at least one of vesselIMONumber and MMSINumber must be given")
        return self


class PortCall(JitModel):
    portCallID: UUID
    portVisitReference: Annotated[str, Field(max_length=50)] | None = None
    UNLocationCode: UNLocode
    vessel: Vessel
    omitted: bool | None = None
    isFYI: bool | None = None


class TerminalCall(JitModel):
    terminalCallID: UUID
    portCallID: UUID
    terminalCallReference: Annotated[str, Field(max_length=100)] | None = None
    terminalCallSequenceNumber: int | None = None
    carrierServiceName: Annotated[str, Field(pattern=TRIMMED, max_length=50)]
    carrierServiceCode: Annotated[str, Field(pattern=TRIMMED, max_length=11)]
    universalServiceReference: Annotated[str, Field(pattern=r"^SR\d{5}[A-Z]$", min_length=8,
                                                    max_length=8)] | None = None
    carrierImportVoyageNumber: Annotated[str, Field(pattern=TRIMMED, max_length=50)] | None = None
    carrierExportVoyageNumber: Annotated[str, Field(pattern=TRIMMED, max_length=50)] | None = None
    universalImportVoyageReference: Annotated[str, Field(pattern=r"^\d{2}[0-9A-Z]{2}[NEWSR]$", min_length=5,
                                                         max_length=5)] | None = None
    universalExportVoyageReference: Annotated[str, Field(pattern=r"^\d{2}[0-9A-Z]{2}[NEWSR]$", min_length=5,
                                                         max_length=5)] | None = None
    omitted: bool | None = None
    isFYI: bool | None = None


class Facility(JitModel):
    facilityCode: Annotated[str, Field(pattern=TRIMMED, max_length=6)]
    facilityCodeListProvider: FacilityCodeListProvider
    subFacility: Annotated[str, Field(pattern=TRIMMED, max_length=100)] | None = None


class GeoCoordinate(JitModel):
    latitude: Annotated[str, Field(max_length=10)]
    longitude: Annotated[str, Field(max_length=11)]


class PortCallServiceLocation(JitModel):
    """Where a service happens: a UN/LOCODE always, a facility or a position besides. The same shape
    as `PortCallServiceLocationTimestamp`, which a Timestamp may carry only with `REQ`."""

    locationName: Annotated[str, Field(pattern=TRIMMED, max_length=100)] | None = None
    facility: Facility | None = None
    UNLocationCode: UNLocode
    geoCoordinate: GeoCoordinate | None = None


class PortCallService(JitModel):
    """`moves` (the MOVES forecast, `MovesList`) is kept as sent, not modelled field by field."""

    terminalCallID: UUID
    portCallServiceID: UUID
    portCallServiceTypeCode: PortCallServiceTypeCode
    portCallServiceEventTypeCode: PortCallServiceEventTypeCode
    portCallPhaseTypeCode: PortCallPhaseTypeCode | None = None
    facilityTypeCode: FacilityTypeCode | None = None
    portCallServiceLocation: PortCallServiceLocation
    moves: list[dict[str, Any]] | None = None
    cancelled: bool | None = None
    declined: bool | None = None
    isFYI: bool | None = None

    @model_validator(mode="after")
    def _event_type_fits(self) -> Self:
        allowed = EVENT_TYPES.get(self.portCallServiceTypeCode)
        if allowed is not None and self.portCallServiceEventTypeCode not in allowed:
            raise ValueError(f"portCallServiceTypeCode {self.portCallServiceTypeCode.value} goes only with "
                             f"portCallServiceEventTypeCode {', '.join(sorted(allowed))}")
        return self


class Timestamp(JitModel):
    """One E, R, P or A time of a Port Call Service. `dateTime` is the port's local time with its
    offset. The event it times (`ARRI`, `DEPA`, ...) is the service's `portCallServiceEventTypeCode`:
    a Timestamp has no event type of its own."""

    timestampID: UUID
    replyToTimestampID: UUID | None = None
    portCallServiceID: UUID
    classifierCode: ClassifierCode
    dateTime: AwareDatetime
    portCallServiceLocation: PortCallServiceLocation | None = None
    delayReasonCode: Annotated[str, Field(max_length=3)] | None = None
    remark: Annotated[str, Field(max_length=500)] | None = None
    isFYI: bool | None = None

    @model_validator(mode="after")
    def _location_only_on_req(self) -> Self:
        if self.portCallServiceLocation is not None and self.classifierCode != ClassifierCode.REQ:
            raise ValueError("portCallServiceLocation may only be sent with classifierCode REQ")
        return self


class VesselPosition(JitModel):
    locationName: Annotated[str, Field(pattern=TRIMMED, max_length=100)] | None = None
    facility: Facility | None = None
    UNLocationCode: UNLocode | None = None
    geoCoordinate: GeoCoordinate | None = None


class VesselStatus(JitModel):
    portCallServiceID: UUID
    draft: float | None = None
    airDraft: float | None = None
    aftDraft: float | None = None
    forwardDraft: float | None = None
    dimensionUnit: DimensionUnit | None = None
    vesselPosition: VesselPosition | None = None
    milesToDestinationPort: float | None = None
    isFYI: bool | None = None


class _Reason(JitModel):
    reason: Reason | None = None
    isFYI: bool | None = None


class OmitPortCall(_Reason):
    pass


class OmitTerminalCall(_Reason):
    pass


class Cancel(_Reason):
    pass


class Decline(_Reason):
    """What a Service Consumer (portsync) sends to the carrier's decline endpoint; not received."""


class DetailedError(JitModel):
    errorCode: Annotated[int, Field(ge=7000, le=9999)] | None = None
    property: Annotated[str, Field(max_length=100)] | None = None
    value: Annotated[str, Field(max_length=500)] | None = None
    jsonPath: Annotated[str, Field(max_length=500)] | None = None
    errorCodeText: Annotated[str, Field(max_length=100)]
    errorCodeMessage: Annotated[str, Field(max_length=5000)]


class ErrorResponse(JitModel):
    """`errorDateTime` is UTC (the one time of the standard that is not local)."""

    httpMethod: HttpMethod
    requestUri: str
    statusCode: int
    statusCodeText: Annotated[str, Field(max_length=50)]
    statusCodeMessage: Annotated[str, Field(max_length=200)] | None = None
    providerCorrelationReference: Annotated[str, Field(max_length=100)] | None = None
    errorDateTime: datetime
    errors: Annotated[list[DetailedError], Field(min_length=1)]
