"""DCSA Just-in-Time Port Call 2.0: the Service Consumer's endpoints under /v2 (portsync is the
terminal's side of `BERTH` services; the carrier is the Service Provider).

Every message of the carrier is answered 204; errors are the standard's `ErrorResponse` (400 for
a body or query the standard does not allow, or a timestamp for an unknown `portCallServiceID`;
404 for an omit / cancel of an unknown id), never the problem+json of /v1. Every answer carries
`API-Version: 2.0.0`, and the proxy headers `Response-Sending-Party` / `Response-Receiving-Party`
echo `Request-Receiving-Party` / `Request-Sending-Party` when those are sent.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import caller
from api.errors import APIError
from api.jit.errors import JitError, error_response, escaped
from api.jit.gateway import LivePlanGateway
from api.jit.schemas import (
    API_VERSION,
    TRIMMED,
    Cancel,
    ClassifierCode,
    DetailedError,
    ErrorResponse,
    OmitPortCall,
    OmitTerminalCall,
    PortCall,
    PortCallService,
    TerminalCall,
    Timestamp,
    VesselStatus,
    dump,
)
from api.jit.store import JitStore

TAG = "DCSA JIT 2.0"


def _loc(loc: Any) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts)


def validation_items(raw: list[Any]) -> list[DetailedError]:
    out = []
    for e in raw[:50]:
        prop = escaped(_loc(e.get("loc", ())))
        msg = escaped(str(e.get("msg", "invalid")).removeprefix("Value error, "))
        out.append(DetailedError(errorCodeText=str(e.get("type", "invalid value"))[:100],
                                 errorCodeMessage=(f"{prop}: {msg}" if prop else msg)[:5000],
                                 property=prop[:100] or None))
    return out or [DetailedError(errorCodeText="invalid request", errorCodeMessage="invalid request")]


def _error(request: Request, status: int, errors: list[DetailedError],
           message: str | None = None) -> Response:
    body = error_response(request.method, str(request.url.path), status, errors, message)
    return JSONResponse(dump(body), status_code=status)


class JitRoute(APIRoute):
    """A /v2 route: errors as ErrorResponse, the API-Version and proxy headers on every answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except RequestValidationError as exc:
                items = validation_items(list(exc.errors()))
                response = _error(request, 400, items, items[0].errorCodeMessage[:200])
            except JitError as exc:
                response = _error(request, exc.status, exc.errors, exc.message[:200])
            except IntegrityError:  # two requests created the same id at once: one of them lost
                response = _error(request, 409, [DetailedError(
                    errorCodeText="concurrent write",
                    errorCodeMessage="another request wrote the same record at once; send it again")])
            except APIError as exc:  # the API key (api.auth), as on /v1
                response = _error(request, exc.status, [DetailedError(
                    errorCodeText=exc.title[:100], errorCodeMessage=exc.detail or exc.title)],
                    (exc.detail or exc.title)[:200])
                response.headers.update(exc.headers or {})
            except StarletteHTTPException as exc:
                if exc.status_code >= 500:
                    raise
                detail = exc.detail if isinstance(exc.detail, str) else "invalid request"
                response = _error(request, exc.status_code, [DetailedError(
                    errorCodeText="invalid request", errorCodeMessage=detail)], detail[:200])
            response.headers["API-Version"] = API_VERSION
            if sender := request.headers.get("Request-Sending-Party"):
                response.headers["Response-Receiving-Party"] = sender[:4096]
            if receiver := request.headers.get("Request-Receiving-Party"):
                response.headers["Response-Sending-Party"] = receiver[:4096]
            return response

        return route


HEADERS = {"API-Version": {"description": "The standard's version: 2.0.0", "schema": {"type": "string"}}}


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {204: "Accepted", 400: "Invalid body or query, or an unknown portCallServiceID (ErrorResponse)",
            401: "Missing or unknown API key, when the server has keys (ErrorResponse)",
            404: "Unknown id (ErrorResponse)",
            409: "Another request created the same record at the same moment; send it again (ErrorResponse)"}
    out: dict[int | str, dict[str, Any]] = {}
    for c in codes:
        entry: dict[str, Any] = {"description": text[c], "headers": HEADERS}
        if c >= 400:
            entry["model"] = ErrorResponse
        out[c] = entry
    return out


#: With API keys configured (PORTSYNC_API_KEYS), the carrier sends one, as on /v1.
router = APIRouter(prefix="/v2", tags=[TAG], route_class=JitRoute, dependencies=[Depends(caller)],
                   responses=_responses(401))
PUT: dict[str, Any] = {"status_code": 204, "response_class": Response,
                       "responses": _responses(204, 400, 409)}
OMIT: dict[str, Any] = {"status_code": 204, "response_class": Response,
                        "responses": _responses(204, 400, 404, 409)}


def _get(model: Any) -> dict[str, Any]:
    return {"response_model": None, "responses": {
        200: {"model": list[model], "description": "The matching records (a JSON array)", "headers": HEADERS},
        **_responses(400)}}


def store_of(request: Request) -> JitStore:
    s: JitStore = request.app.state.jit_store
    return s


def gateway_of(request: Request) -> LivePlanGateway:
    factory: Callable[[], LivePlanGateway] = request.app.state.jit_gateway_factory
    return factory()


def _same_id(path_id: UUID, body_id: UUID, name: str) -> None:
    if path_id != body_id:
        raise JitError(400, f"{name} of the body ({body_id}) is not the one of the path ({path_id})",
                       text="id mismatch", property=name)


def _no_content() -> Response:
    return Response(status_code=204)


# -- Service Consumer endpoints: what the carrier sends -------------------------------------------

@router.put("/port-calls/{portCallID}", operation_id="putPortCall", summary="Create or update a Port Call",
            **PUT)
def put_port_call(request: Request, portCallID: UUID, body: PortCall) -> Response:
    _same_id(portCallID, body.portCallID, "portCallID")
    store_of(request).put_port_call(body, gateway_of(request))
    return _no_content()


@router.post("/port-calls/{portCallID}/omit", operation_id="omitPortCall",
             summary="The carrier omits a Port Call", **OMIT)
def omit_port_call(request: Request, portCallID: UUID, body: OmitPortCall) -> Response:
    store_of(request).omit_port_call(str(portCallID), gateway_of(request))
    return _no_content()


@router.put("/terminal-calls/{terminalCallID}", operation_id="putTerminalCall",
            summary="Create or update a Terminal Call", **PUT)
def put_terminal_call(request: Request, terminalCallID: UUID, body: TerminalCall) -> Response:
    _same_id(terminalCallID, body.terminalCallID, "terminalCallID")
    store_of(request).put_terminal_call(body, gateway_of(request))
    return _no_content()


@router.post("/terminal-calls/{terminalCallID}/omit", operation_id="omitTerminalCall",
             summary="The carrier omits a Terminal Call", **OMIT)
def omit_terminal_call(request: Request, terminalCallID: UUID, body: OmitTerminalCall) -> Response:
    store_of(request).omit_terminal_call(str(terminalCallID), gateway_of(request))
    return _no_content()


@router.put("/port-call-services/{portCallServiceID}", operation_id="putPortCallService",
            summary="Create or update a Port Call Service", **PUT)
def put_port_call_service(request: Request, portCallServiceID: UUID, body: PortCallService) -> Response:
    _same_id(portCallServiceID, body.portCallServiceID, "portCallServiceID")
    store_of(request).put_service(body, gateway_of(request))
    return _no_content()


@router.post("/port-call-services/{portCallServiceID}/cancel", operation_id="cancelPortCallService",
             summary="The carrier cancels a Port Call Service", **OMIT)
def cancel_port_call_service(request: Request, portCallServiceID: UUID, body: Cancel) -> Response:
    store_of(request).cancel_service(str(portCallServiceID))
    return _no_content()


@router.put("/vessel-statuses/{portCallServiceID}", operation_id="putVesselStatus",
            summary="The vessel's draft, position and distance to go for a Port Call Service", **OMIT)
def put_vessel_status(request: Request, portCallServiceID: UUID, body: VesselStatus) -> Response:
    _same_id(portCallServiceID, body.portCallServiceID, "portCallServiceID")
    store_of(request).put_vessel_status(body)
    return _no_content()


# -- both roles -------------------------------------------------------------------------------------

@router.put("/timestamps/{timestampID}", operation_id="putTimestamp",
            summary="An EST, PLN or ACT of the carrier for a Port Call Service", **PUT)
def put_timestamp(request: Request, timestampID: UUID, body: Timestamp) -> Response:
    """A timestamp for a `portCallServiceID` portsync does not know is a 400. For a `BERTH`
    service bound to a live-plan call, `EST` (ARRI) becomes an `eta` event, `ACT` an
    `actual_arrival` (ARRI) or `actual_departure` (DEPA); `PLN` is stored as the agreed time."""
    _same_id(timestampID, body.timestampID, "timestampID")
    store_of(request).put_timestamp(body, gateway_of(request))
    return _no_content()


Uuid = Annotated[UUID | None, Query()]


def _s(v: UUID | None) -> str | None:
    return str(v) if v is not None else None


@router.get("/timestamps", operation_id="getTimestamps", summary="Timestamps of a service, or one by id",
            **_get(Timestamp))
def get_timestamps(request: Request, portCallServiceID: Uuid = None, timestampID: Uuid = None,
                   classifierCode: Annotated[ClassifierCode | None, Query()] = None) -> Response:
    """At least one of `portCallServiceID` and `timestampID` (else 400); in the order received."""
    if portCallServiceID is None and timestampID is None:
        raise JitError(400, "give at least one of portCallServiceID and timestampID",
                       text="missing filter", property="portCallServiceID")
    return JSONResponse(store_of(request).timestamps(
        portCallServiceID=_s(portCallServiceID), timestampID=_s(timestampID),
        classifierCode=classifierCode.value if classifierCode else None))


Trimmed50 = Annotated[str | None, Query(max_length=50, pattern=TRIMMED)]
Voyage = Annotated[str | None, Query(min_length=5, max_length=5, pattern=r"^\d{2}[0-9A-Z]{2}[NEWSR]$")]


@router.get("/port-calls", operation_id="getPortCalls", summary="Port Calls matching the filters",
            **_get(PortCall))
def get_port_calls(
    request: Request,
    portCallID: Uuid = None,
    portVisitReference: Annotated[str | None, Query(max_length=50)] = None,
    UNLocationCode: Annotated[str | None, Query(min_length=5, max_length=5,
                                                pattern=r"^[A-Z]{2}[A-Z2-9]{3}$")] = None,
    vesselIMONumber: Annotated[str | None, Query(min_length=7, max_length=8, pattern=r"^\d{7,8}$")] = None,
    vesselName: Trimmed50 = None,
    MMSINumber: Annotated[str | None, Query(min_length=9, max_length=9, pattern=r"^\d{9}$")] = None,
) -> Response:
    return JSONResponse(store_of(request).port_calls(
        portCallID=_s(portCallID), portVisitReference=portVisitReference, UNLocationCode=UNLocationCode,
        vesselIMONumber=vesselIMONumber, vesselName=vesselName, MMSINumber=MMSINumber))


@router.get("/terminal-calls", operation_id="getTerminalCalls", summary="Terminal Calls matching the filters",
            **_get(TerminalCall))
def get_terminal_calls(
    request: Request,
    portCallID: Uuid = None,
    terminalCallID: Uuid = None,
    terminalCallReference: Annotated[str | None, Query(max_length=100)] = None,
    carrierServiceName: Trimmed50 = None,
    carrierServiceCode: Annotated[str | None, Query(max_length=11, pattern=TRIMMED)] = None,
    universalServiceReference: Annotated[str | None, Query(min_length=8, max_length=8,
                                                           pattern=r"^SR\d{5}[A-Z]$")] = None,
    carrierImportVoyageNumber: Trimmed50 = None,
    carrierExportVoyageNumber: Trimmed50 = None,
    universalImportVoyageReference: Voyage = None,
    universalExportVoyageReference: Voyage = None,
) -> Response:
    return JSONResponse(store_of(request).terminal_calls(
        portCallID=_s(portCallID), terminalCallID=_s(terminalCallID),
        terminalCallReference=terminalCallReference, carrierServiceName=carrierServiceName,
        carrierServiceCode=carrierServiceCode, universalServiceReference=universalServiceReference,
        carrierImportVoyageNumber=carrierImportVoyageNumber,
        carrierExportVoyageNumber=carrierExportVoyageNumber,
        universalImportVoyageReference=universalImportVoyageReference,
        universalExportVoyageReference=universalExportVoyageReference))


@router.get("/port-call-services", operation_id="getPortCallServices",
            summary="Port Call Services matching the filters", **_get(PortCallService))
def get_port_call_services(
    request: Request,
    terminalCallID: Uuid = None,
    portCallServiceID: Uuid = None,
    portCallServiceTypeCode: Trimmed50 = None,
) -> Response:
    return JSONResponse(store_of(request).services(
        terminalCallID=_s(terminalCallID), portCallServiceID=_s(portCallServiceID),
        portCallServiceTypeCode=portCallServiceTypeCode))


@router.get("/vessel-statuses", operation_id="getVesselStatuses", summary="The Vessel Status of a service",
            **_get(VesselStatus))
def get_vessel_statuses(request: Request, portCallServiceID: Annotated[UUID, Query()]) -> Response:
    return JSONResponse(store_of(request).vessel_statuses(str(portCallServiceID)))
