"""The OpenAPI document read as a manual: a description on every schema field and an example on every
request body.

Most fields are described where they are declared (pydantic `Field(description=...)`); the rest, many
of them the same name in several records (`id`, `call_id`, `start`, `reason` ...) or the DCSA JIT
standard's own names, get theirs here by name, or by `Schema.field` where one name means different
things. `undescribed(schema)` lists what is still bare; a test keeps that list empty.
"""

from __future__ import annotations

import copy
from typing import Any

#: A field's description by `Schema.field` (checked first) or by field name.
FIELDS: dict[str, str] = {
    # identity and names
    "id": "The record's id, unique in its kind.",
    "Berth.id": "Berth id, unique in the problem (e.g. KZAAU-B01).",
    "Call.id": "Call id, unique in the problem: one visit of one vessel to one port.",
    "optimizer__domain__Vessel.id": "Vessel id, unique in the problem.",
    "JobOut.id": "The job id: GET /v1/schedules/{id}.",
    "JobSummary.id": "The job id: GET /v1/schedules/{id}.",
    "LivePlanOut.id": "The live plan id: GET /v1/live-plans/{id}.",
    "WebhookOut.id": "The subscription id.",
    "DeliveryOut.id": "The delivery id (also sent as X-Portsync-Delivery).",
    "name": "A name for people (defaults to the id where empty).",
    "description": "What the problem models, in words.",
    "problem_name": "The name of the problem the plan is for.",
    "type": "The record's kind.",
    "optimizer__domain__Vessel.type": "Vessel type (ferry, container, tanker, bulk ...).",
    "LoggedEvent.type": "The event's type (eta, closure, ...).",
    "FieldError.type": "A machine-readable kind of mistake (e.g. missing, unknown_reference).",
    "ValidationError.type": "A machine-readable kind of mistake.",
    # problem
    "horizon_start": "Start of the planning horizon (ISO-8601 with a UTC offset).",
    "horizon_end": "End of the planning horizon (ISO-8601 with a UTC offset).",
    "ports": "The ports planned together, each with its berths and closures.",
    "vessels": "The fleet: dimensions, speeds, optional IMO and MMSI.",
    "voyages": "Each vessel's calls in order and its first ETA.",
    "previous_plan": "A plan to start from; changes against it are penalised.",
    "berths": "The port's berths.",
    "closures": "Weather closures: no vessel may berth at or leave the port inside them.",
    "length_m": "Length in metres.",
    "Berth.length_m": "Quay length in metres: the longest vessel it takes.",
    "max_draft_m": "Deepest draft the berth takes, in metres.",
    "draft_m": "Draft in metres.",
    "cargo_kinds": "Cargo kinds the berth can work.",
    "min_speed_kn": "Slowest sailing speed in knots.", "service_speed_kn": "Usual sailing speed in knots.",
    "max_speed_kn": "Fastest sailing speed in knots.",
    "cargo": "The call's cargo kind.",
    "handling": "Handling time: hours, or a quantity at the berth's rate, or hours per berth.",
    "hours": "Handling hours at a berth of productivity 1.",
    "hours_by_berth": "Handling hours per berth id, where they differ.",
    "quantity": "Cargo quantity (tonnes, TEU, wagons ...) handled at the berth's rate.",
    "frozen": "Set when the call is at berth or locked: it keeps this berth and these times.",
    "call_ids": "The vessel's calls in the order it makes them.",
    "before": "The call that must end first.", "after": "The call that starts after `before` ends.",
    "min_gap_hours": "Least time between `before` ending and `after` starting, in hours.",
    "max_gap_hours": "Most time between `before` ending and `after` starting, in hours (none: no limit).",
    "from_port": "Port id the distance is from.", "to_port": "Port id the distance is to.",
    "nm": "Sailing distance in nautical miles.",
    "start": "Start of the window (ISO-8601 with a UTC offset).",
    "end": "End of the window, exclusive (ISO-8601 with a UTC offset).",
    "reason": "Why, in words.",
    "links": "Links to the related resources.",
    "Problem.links": "Synchronisation between calls of different vessels (transshipment, shared trains).",
    # plan
    "call_id": "The call's id in the problem.",
    "berth_id": "The berth's id in the problem.",
    "port_id": "The port's UN/LOCODE.",
    "vessel_id": "The vessel's id in the problem.",
    "vessel_name": "The vessel's name.",
    "arrival": "Arrival at the port (RTA), UTC.",
    "berth_start": "Berthing, UTC.", "berth_end": "Departure from the berth, UTC.",
    "berth_start_local": "Berthing in the port's local offset.",
    "berth_end_local": "Departure in the port's local offset.",
    "inbound_distance_nm": "Length of the leg into this port, in nautical miles.",
    "waited_for": "What kept the call waiting at anchorage, each with its time.",
    "blocking_call_id": "The call that held the berth, where one did.",
    "until": "When the cause of the wait ended, UTC.",
    "kind": "What kind of thing this is (see the enum).",
    "detail": "What happened, in a sentence.",
    "ProblemDetail.detail": "What went wrong, in a sentence.",
    "HTTPValidationError.detail": "Every failing field.",
    "calls": "Calls (count or list, as the record says).",
    "Plan.calls": "Every planned call with its berth, times, waits and speeds.",
    "Problem.calls": "The calls to plan.",
    "Kpis.calls": "Calls served.", "PortKpis.calls": "Calls served at this port.",
    "unserved": "Calls the plan leaves unserved, with their kind and reasons.",
    "reasons": "Why, in sentences: times in the port's offset and UTC.",
    "warnings": "Frozen facts that break a rule and ignored previous-plan entries.",
    "kpis": "Headline figures of the plan.",
    "solver": "What the solver did: status, objective, bound, gap, time, plans found.",
    "feasible_baseline_unserved": "Calls FCFS keeping every hard limit leaves unserved.",
    "per_port": "The same figures per port.",
    "total_dwell_hours": "Dwell (departure - arrival) summed over calls, in hours.",
    "mean_dwell_hours": "Mean dwell per call, in hours.",
    "total_waiting_hours": "Waiting at anchorage summed over calls, in hours.",
    "mean_waiting_hours": "Mean waiting at anchorage per call, in hours.",
    "total_lateness_hours": "Time past requested departures summed over calls, in hours.",
    "late_calls": "Calls leaving after their requested departure.",
    "berth_utilization": "Busy berth-hours / available berth-hours in the horizon.",
    "weighted_dwell_minutes": "Dwell weighted by each call's weight, in minutes.",
    "weighted_lateness_minutes": "Lateness weighted by each call's weight, in minutes.",
    "fuel_saved_t": "ESTIMATE: fuel saved against sailing at service speed and waiting, in tonnes.",
    "status": "State (see the enum).",
    "SolverFacts.status": "optimal, feasible, partial, infeasible, unknown (see SolveStatus).",
    "objective": "The plan's objective value (lower is better).",
    "best_bound": "The best lower bound on the objective proven so far.",
    "gap": "(objective - bound) / objective.",
    "seconds": "Solver time in seconds.",
    "solutions": "Plans found.",
    "served_calls": "Calls the plan serves.", "unserved_calls": "Calls the plan leaves unserved.",
    "rule": "The rule the fact breaks.",
    "violations": "Every violated constraint, with the calls involved.",
    # options and weights
    "time_limit_s": "Longest solve, in seconds.",
    "relative_gap": "Stop once the gap is at most this (0.01 = 1 %).",
    "workers": "CP-SAT threads (capped by PORTSYNC_SOLVER_THREADS).",
    "seed": "Random seed: with one worker, the same seed gives the same plan.",
    "weights": "Objective weights of dwell, lateness and changes.",
    "dwell": "Weight of a minute of dwell.", "lateness": "Weight of a minute of lateness.",
    "problem": "The problem, as in POST /v1/schedules.",
    # jobs
    "created_at": "When it was created, UTC.", "started_at": "When solving started, UTC.",
    "finished_at": "When it ended, UTC.", "options": "The solver options the job runs with.",
    "progress": "Best objective, bound, gap and times so far.",
    "plan": "The best plan so far (null before the first).",
    "stop_requested": "A stop was asked for and the job is ending.",
    "items": "The page's records.", "self": "This resource.", "gantt": "The plan as an HTML Gantt chart.",
    "improvements": "The history of best-plan improvements.", "stop": "POST here to stop the job.",
    "seq": "Order number.", "attempt": "Which attempt of the job found it (a restart starts another).",
    "at": "When, UTC.", "final": "The job's last plan.",
    "assignments": "Each call's berth and times in that plan.",
    # live plans and events
    "error": "Why it failed, when it did.", "frozen_window_minutes": "Calls beginning within this long after "
    "now are no longer moved.",
    "settings": "Time limits, seed and weights of the versions.",
    "first_time_limit_s": "Version 1's time limit, in seconds.",
    "replan_time_limit_s": "Each later version's time limit, in seconds.",
    "live_plan_id": "The live plan's id.", "against": "The version compared with.",
    "number": "The version number.", "now": "The live plan's clock, UTC.",
    "Clock.now": "The new now of the live plan's clock.",
    "cancelled": "Calls cancelled in this version.",
    "replan_s": "How long the replan took, in seconds.",
    "stability": "How much of the last version this one keeps.",
    "inbound_speed_kn_after": "The new recommended inbound speed, knots.",
    "newly_served": "Calls served now that the last version left unserved.",
    "newly_unserved": "Calls left unserved now that the last version served.",
    "rta_threshold_minutes": "An RTA move larger than this counts as moved.",
    "event_id": "Chosen by the client: the same id twice is applied once.",
    "CauseWindow.event_id": "The closure or maintenance event of the window.",
    "accepted_at": "When the server accepted it, UTC.", "event": "The event as it was posted.",
    "reported_at": "When the source reported it (ISO-8601 with a UTC offset).",
    "eta": "Estimated time of arrival (ISO-8601 with a UTC offset).",
    "confidence": "How sure the source is, 0 to 1.",
    "time": "When it happened (ISO-8601 with a UTC offset).",
    "remaining_hours": "Handling hours still to do.", "remaining_quantity": "Cargo quantity still to handle.",
    "call": "The new call, as in the problem.", "after_call_id": "Insert it into the voyage after this call.",
    "closure_event_id": "The closure event to lift.",
    # webhooks
    "active": "False once deleted.", "kinds": "The event kinds sent to this subscriber.",
    "url": "Where deliveries are POSTed.", "deliveries": "The delivery log.",
    "attempts": "Attempts made so far.", "delivered_at": "When a 2xx answer came, UTC.",
    # errors and health
    "title": "The error's title.", "errors": "Every failing field, with its path and reason.",
    "msg": "What is wrong, in a sentence.", "loc": "Where: the path of the failing field.",
    "input": "The value that failed.", "ctx": "Details of the check that failed.",
    "database": "Whether the database answers.", "solver_processes": "Solver processes up.",
    # DCSA JIT 2.0 (the standard's names and meanings)
    "portCallID": "DCSA: the port call's universally unique id.",
    "terminalCallID": "DCSA: the terminal call's universally unique id.",
    "portCallServiceID": "DCSA: the port call service's universally unique id.",
    "timestampID": "DCSA: the timestamp's universally unique id.",
    "replyToTimestampID": "DCSA: the timestamp this one answers.",
    "UNLocationCode": "DCSA: the UN/LOCODE of the location.",
    "portVisitReference": "DCSA: the port authority's reference of the visit.",
    "vessel": "DCSA: the vessel making the call.",
    "vesselIMONumber": "DCSA: the vessel's IMO number.", "MMSINumber": "DCSA: the vessel's MMSI.",
    "callSign": "DCSA: the vessel's call sign.", "lengthOverall": "DCSA: length overall.",
    "width": "DCSA: the vessel's beam.", "dimensionUnit": "DCSA: unit of the dimensions (MTR or FOT).",
    "typeCode": "DCSA: vessel type code.",
    "isFYI": "DCSA: for information only, no answer expected (write-only).",
    "omitted": "DCSA: the call was omitted (read-only).",
    "declined": "DCSA: the service was declined (read-only).",
    "PortCallService.cancelled": "DCSA: the service was cancelled (read-only).",
    "terminalCallReference": "DCSA: the terminal's reference of the call.",
    "terminalCallSequenceNumber": "DCSA: order of the terminal calls within the port call.",
    "carrierServiceCode": "DCSA: the carrier's service code.", "carrierServiceName": "DCSA: the carrier's "
    "service name.",
    "universalServiceReference": "DCSA: the universal service reference.",
    "carrierImportVoyageNumber": "DCSA: the carrier's import voyage number.",
    "carrierExportVoyageNumber": "DCSA: the carrier's export voyage number.",
    "universalImportVoyageReference": "DCSA: the universal import voyage reference.",
    "universalExportVoyageReference": "DCSA: the universal export voyage reference.",
    "portCallServiceTypeCode": "DCSA: the service (BERTH, PILOTAGE, ...).",
    "portCallServiceEventTypeCode": "DCSA: the event the service times (ARRI, DEPA, ...).",
    "portCallPhaseTypeCode": "DCSA: the phase of the port call (INBD, ALGS, SHIF, OUTB).",
    "facilityTypeCode": "DCSA: the kind of facility (BRTH, ANCH, ...).",
    "portCallServiceLocation": "DCSA: where the service takes place.",
    "moves": "DCSA: cargo moves of the service (kept as sent).",
    "classifierCode": "DCSA: EST, PLN, ACT from the provider; REQ from the consumer.",
    "dateTime": "DCSA: the time (ISO-8601 with a UTC offset).",
    "delayReasonCode": "DCSA: SMDG delay reason code.", "remark": "DCSA: free text.",
    "draft": "DCSA: the vessel's draft.", "airDraft": "DCSA: the vessel's air draft.",
    "aftDraft": "DCSA: draft aft.", "forwardDraft": "DCSA: draft forward.",
    "vesselPosition": "DCSA: where the vessel is.",
    "milesToDestinationPort": "DCSA: nautical miles to the destination port.",
    "locationName": "DCSA: the location's name.", "facility": "DCSA: the facility (code and provider).",
    "geoCoordinate": "DCSA: latitude and longitude.",
    "latitude": "DCSA: latitude in decimal degrees.", "longitude": "DCSA: longitude in decimal degrees.",
    "facilityCode": "DCSA: the facility's code.", "facilityCodeListProvider": "DCSA: who lists the code "
    "(SMDG, BIC).",
    "subFacility": "DCSA: a part of the facility (berth number, ...).",
    "httpMethod": "DCSA: the request's method.", "requestUri": "DCSA: the request's URI.",
    "statusCode": "DCSA: the HTTP status code.", "statusCodeText": "DCSA: the status's text.",
    "statusCodeMessage": "DCSA: what went wrong.", "providerCorrelationReference": "DCSA: the provider's "
    "reference for the error.",
    "errorDateTime": "DCSA: when the error happened.", "errorCode": "DCSA: the error code (7000-9999).",
    "errorCodeText": "DCSA: the error code's text.", "errorCodeMessage": "DCSA: the error in detail.",
    "property": "DCSA: the failing property.", "value": "DCSA: the failing value.",
    "jsonPath": "DCSA: where the failing value is (JSONPath).",
}


def _doc(schema_name: str, field: str) -> str | None:
    return FIELDS.get(f"{schema_name}.{field}") or FIELDS.get(field)


def describe_fields(doc: dict[str, Any]) -> None:
    """Give every property of the document's schemas that has none the description above (a
    property that is only a $ref keeps the $ref beside its description, as OpenAPI 3.1 allows)."""
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        for field, prop in (schema.get("properties") or {}).items():
            if "description" not in prop:
                text = _doc(name, field)
                if text:
                    prop["description"] = text


def undescribed(doc: dict[str, Any]) -> list[str]:
    """`Schema.field` of every property without a description."""
    return [f"{name}.{field}" for name, schema in doc.get("components", {}).get("schemas", {}).items()
            for field, prop in (schema.get("properties") or {}).items() if "description" not in prop]


T = "2026-11-02T08:00:00+05:00"
TINY_PROBLEM: dict[str, Any] = {
    "name": "two ferries at Kuryk", "horizon_start": "2026-11-02T00:00:00+05:00",
    "horizon_end": "2026-11-04T00:00:00+05:00",
    "ports": [{"id": "KZKUR", "name": "Kuryk", "timezone": "Asia/Aqtau", "berths": [
        {"id": "KZKUR-RF1", "length_m": 200, "max_draft_m": 6.5, "cargo_kinds": ["rail_ferry", "ro_ro"]}]}],
    "vessels": [{"id": "V1", "name": "Mingachevir", "length_m": 154, "draft_m": 4.5},
                {"id": "V2", "name": "Karabakh", "length_m": 154, "draft_m": 4.5}],
    "calls": [{"id": "V1-KUR", "vessel_id": "V1", "port_id": "KZKUR", "cargo": "rail_ferry", "handling": 6},
              {"id": "V2-KUR", "vessel_id": "V2", "port_id": "KZKUR", "cargo": "rail_ferry", "handling": 6}],
    "voyages": [{"vessel_id": "V1", "eta": T, "call_ids": ["V1-KUR"]},
                {"vessel_id": "V2", "eta": "2026-11-02T09:00:00+05:00", "call_ids": ["V2-KUR"]}],
}

#: One example (or more) for every /v1 request body that has none from the scenario files.
REQUEST_EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("/v1/check", "post"): {"two-ferries": {
        "summary": "A hand-made plan of two ferries at one berth, checked",
        "value": {"problem": TINY_PROBLEM, "plan": [
            {"call_id": "V1-KUR", "berth_id": "KZKUR-RF1", "arrival": T, "berth_start": T,
             "berth_end": "2026-11-02T14:00:00+05:00"},
            {"call_id": "V2-KUR", "berth_id": "KZKUR-RF1", "arrival": "2026-11-02T09:00:00+05:00",
             "berth_start": "2026-11-02T14:00:00+05:00", "berth_end": "2026-11-02T20:00:00+05:00"}]}}},
    ("/v1/board/plans", "post"): {
        "two-ferries": {
            "summary": "A hand-made plan of two ferries at one berth, opened on the board",
            "value": {"problem": TINY_PROBLEM, "title": "Kuryk, the shift planner's plan", "plan": [
                {"call_id": "V1-KUR", "berth_id": "KZKUR-RF1", "arrival": T, "berth_start": T,
                 "berth_end": "2026-11-02T14:00:00+05:00"},
                {"call_id": "V2-KUR", "berth_id": "KZKUR-RF1", "arrival": "2026-11-02T09:00:00+05:00",
                 "berth_start": "2026-11-02T14:00:00+05:00", "berth_end": "2026-11-02T20:00:00+05:00"}]}},
        "overlap-and-missing": {
            "summary": "A plan that berths the second ferry while the first is still alongside: both "
                       "drawn, the overlap listed",
            "value": {"problem": TINY_PROBLEM, "plan": {"calls": [
                {"call_id": "V1-KUR", "berth_id": "KZKUR-RF1", "arrival": T, "berth_start": T,
                 "berth_end": "2026-11-02T14:00:00+05:00"},
                {"call_id": "V2-KUR", "berth_id": "KZKUR-RF1", "arrival": "2026-11-02T09:00:00+05:00",
                 "berth_start": "2026-11-02T09:00:00+05:00", "berth_end": "2026-11-02T15:00:00+05:00"}]}}}},
    ("/v1/live-plans", "post"): {"two-ferries": {
        "summary": "A live plan of two ferries at Kuryk", "value": {"problem": TINY_PROBLEM,
                                                                   "options": {"time_limit_s": 5}}}},
    ("/v1/live-plans/{plan_id}/events", "post"): {
        "eta": {"summary": "A new ETA", "value": {"event_id": "ais-2026-11-02-001", "type": "eta",
                                                "call_id": "V2-KUR", "eta": "2026-11-02T15:00:00+05:00",
                                                "source": "AIS"}},
        "closure": {"summary": "A storm closes Kuryk", "value": {
            "event_id": "storm-2026-11-02", "type": "closure", "port_id": "KZKUR",
            "start": "2026-11-02T18:00:00+05:00", "end": "2026-11-03T06:00:00+05:00", "reason": "NW gale"}},
        "list": {"summary": "Several events, applied together or not at all", "value": [
            {"event_id": "berth-1", "type": "actual_berthing", "call_id": "V1-KUR", "berth_id": "KZKUR-RF1",
             "time": "2026-11-02T08:10:00+05:00"},
            {"event_id": "clock-1", "type": "clock", "now": "2026-11-02T09:00:00+05:00"}]}},
    ("/v1/batches", "post"): {
        "seeds": {"summary": "Two ferries at Kuryk, solved with three seeds", "value": {
            "problem": TINY_PROBLEM, "options": {"time_limit_s": 2}, "seeds": [0, 1, 2]}},
        "levels": {"summary": "Two problems (e.g. two traffic levels), one solve each", "value": {
            "items": [{"problem": TINY_PROBLEM, "options": {"time_limit_s": 2}},
                      {"problem": {**TINY_PROBLEM, "name": "two-ferries-later"},
                       "options": {"time_limit_s": 2}}]}}},
    ("/v1/studies", "post"): {
        "aktau-berth": {"summary": "Traffic x1 to x2.5, three seeds: the ports as they are beside one more "
                                   "container berth at Aktau", "value": {
            "name": "Aktau: one more berth?", "growth": [1.0, 1.5, 2.0, 2.5], "seeds": [0, 1, 2],
            "options": ["base", "add-berth:KZAAU-CT"]}},
        "short": {"summary": "A quick look: two levels, two seeds, ten counted days, short budgets",
                  "value": {
            "name": "quick look", "growth": [1.0, 2.0], "seeds": [0, 1],
            "settings": {"traffic": {"days": 10, "aktau_teu_per_year": 200000},
                         "limits": {"first_budget_s": 1.0, "replan_budget_s": 0.1}}}}},
    ("/v1/webhooks", "post"): {"subscribe": {
        "summary": "Hear of every new version and moved call", "value": {
            "url": "https://ops.example.org/portsync-hook",
            "live_plan_id": "0d7c5f0e-3c8a-4d1e-9b1a-0f4f2c7d9e11",
            "secret": "a-secret-of-16-or-more-characters", "kinds": ["version.created", "call.moved"]}}},
}


def add_examples(doc: dict[str, Any]) -> None:
    """Request examples for the bodies that have none (the job and solve bodies get the Caspian
    scenarios in api.app)."""
    for (path, method), examples in REQUEST_EXAMPLES.items():
        op = doc.get("paths", {}).get(path, {}).get(method)
        if op is None or "requestBody" not in op:
            continue
        content = op["requestBody"]["content"].setdefault("application/json", {})
        if not content.get("examples") and "example" not in content:
            content["examples"] = copy.deepcopy(examples)


def bodies_without_examples(doc: dict[str, Any]) -> list[str]:
    """`METHOD path` of every request body with neither example nor examples."""
    out = []
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            body = op.get("requestBody") if isinstance(op, dict) else None
            if body and not any("example" in c or "examples" in c for c in body.get("content", {}).values()):
                out.append(f"{method.upper()} {path}")
    return out


_PC, _TC, _PCS = ("0342254a-5927-4856-b9c9-aa12e7c00563", "085a3207-5e45-49cf-8e1b-f8442beaf545",
                  "7f2d2a1e-6a36-4f0e-8f0e-2b5c7c1d9a01")
_KURYK = {"UNLocationCode": "KZKUR", "facility": {"facilityCode": "RF1", "facilityCodeListProvider": "SMDG"}}

#: The DCSA JIT 2.0 bodies (the carrier's side: portsync is the terminal), a ferry calling at Kuryk.
JIT_EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("/v2/port-calls/{portCallID}", "put"): {"kuryk": {"summary": "A ferry's port call at Kuryk",
                                                      "value": {
        "portCallID": _PC, "UNLocationCode": "KZKUR", "vessel": {
            "vesselIMONumber": "9329825", "name": "Mingachevir", "lengthOverall": 154.5,
            "dimensionUnit": "MTR"}}}},
    ("/v2/port-calls/{portCallID}/omit", "post"): {"omit": {"summary": "The call is dropped",
                                                             "value": {"reason": "Engine failure"}}},
    ("/v2/terminal-calls/{terminalCallID}", "put"): {"kuryk": {"summary": "Its terminal call", "value": {
        "terminalCallID": _TC, "portCallID": _PC, "terminalCallSequenceNumber": 1,
        "carrierServiceName": "Trans-Caspian rail ferry",
        "carrierServiceCode": "TCF1"}}},
    ("/v2/terminal-calls/{terminalCallID}/omit", "post"): {"omit": {
        "summary": "The terminal call is dropped", "value": {"reason": "Cargo moved to Aktau"}}},
    ("/v2/port-call-services/{portCallServiceID}", "put"): {"berth-arrival": {
        "summary": "The berth arrival service to be timed", "value": {
            "terminalCallID": _TC, "portCallServiceID": _PCS, "portCallServiceTypeCode": "BERTH",
            "portCallServiceEventTypeCode": "ARRI", "portCallPhaseTypeCode": "INBD",
            "facilityTypeCode": "BRTH",
            "portCallServiceLocation": _KURYK}}},
    ("/v2/port-call-services/{portCallServiceID}/cancel", "post"): {"cancel": {
        "summary": "The service is cancelled", "value": {"reason": "Storm: port closed"}}},
    ("/v2/vessel-statuses/{portCallServiceID}", "put"): {"status": {"summary": "Draft and distance to go",
                                                                     "value": {
        "portCallServiceID": _PCS, "draft": 4.4, "dimensionUnit": "MTR", "milesToDestinationPort": 120}}},
    ("/v2/timestamps/{timestampID}", "put"): {"estimate": {"summary": "The carrier's estimated berth arrival",
                                                           "value": {
        "timestampID": "5b1f0f8e-0a5e-4c93-9a53-3b1c2a9f4e77", "portCallServiceID": _PCS,
        "classifierCode": "EST", "dateTime": "2026-11-02T14:00:00+05:00"}}},
}
REQUEST_EXAMPLES.update(JIT_EXAMPLES)
