"""Bad input gets an error naming the field and the reason; every issue is reported at once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from optimizer.loading import load_problem
from optimizer.validation import InvalidProblem
from tests.builders import at, berth, call, port, problem_dict, vessel, voyage


def good() -> dict[str, Any]:
    return problem_dict(
        [port("KZAAU", [berth("A1", length=160)]), port("AZBAK", [berth("B1")], tz="Asia/Baku")],
        [vessel("V1", imo="9074729", mmsi="436000001"), vessel("V2")],
        [call("C1", "V1", "KZAAU", 10), call("C2", "V1", "AZBAK", 8), call("C3", "V2", "KZAAU", 6)],
        [voyage("V1", 2, "C1", "C2"), voyage("V2", 3, "C3")],
    )


def issues_of(data: dict[str, Any] | str) -> list[tuple[str, str, str]]:
    with pytest.raises(InvalidProblem) as info:
        load_problem(data)
    return [(i.path, i.type, i.msg) for i in info.value.issues]


def test_good_problem_loads_and_round_trips() -> None:
    p = load_problem(good())
    again = load_problem(p.model_dump_json())
    assert again == p


def test_unknown_port() -> None:
    d = good()
    d["calls"][2]["port_id"] = "RUMCX"
    assert ("calls.2.port_id", "unknown_reference", "unknown port 'RUMCX'") in issues_of(d)


def test_duplicate_ids() -> None:
    d = good()
    d["calls"][2]["id"] = "C1"
    d["ports"][1]["berths"][0]["id"] = "A1"
    found = {(path, kind) for path, kind, _ in issues_of(d)}
    assert ("calls.2.id", "duplicate_id") in found
    assert ("ports.1.berths.0.id", "duplicate_id") in found


def test_vessel_too_long_for_every_berth_of_a_port_it_calls() -> None:
    d = good()
    d["vessels"][1]["length_m"] = 190  # A1 is 160 m long
    found = issues_of(d)
    assert any(
        path == "calls.2" and kind == "no_compatible_berth" and "length 190" in msg
        for path, kind, msg in found
    )


def test_bad_imo_check_digit() -> None:
    d = good()
    d["vessels"][0]["imo"] = "9074728"
    found = issues_of(d)
    assert any(path == "vessels.0.imo" and "check digit" in msg for path, _, msg in found)


def test_negative_handling_time() -> None:
    d = good()
    d["calls"][0]["handling"] = {"hours": -4}
    assert any(path == "calls.0.handling.hours" for path, _, _ in issues_of(d))


def test_eta_outside_horizon() -> None:
    d = good()
    d["voyages"][1]["eta"] = at(24 * 30)
    assert any(path == "voyages.1.eta" and kind == "outside_horizon" for path, kind, _ in issues_of(d))


def test_non_iso_time() -> None:
    d = good()
    d["calls"][0]["earliest_start"] = "next tuesday"
    assert any(path == "calls.0.earliest_start" for path, _, _ in issues_of(d))


def test_time_without_offset_is_refused() -> None:
    d = good()
    d["calls"][0]["earliest_start"] = "2026-11-02T10:00:00"
    assert any(path == "calls.0.earliest_start" and "timezone" in msg for path, _, msg in issues_of(d))


def test_voyage_out_of_order_in_time() -> None:
    d = good()
    d["calls"][0]["earliest_start"] = at(50)  # C1 first, but only ready at 50 h
    d["calls"][1]["latest_departure"] = at(40)  # C2 after it must be gone by 40 h
    assert any(path == "voyages.0.call_ids.1" and kind == "voyage_order" for path, kind, _ in issues_of(d))


def test_every_issue_is_reported_at_once() -> None:
    d = good()
    d["calls"][2]["port_id"] = "RUMCX"
    d["calls"][1]["vessel_id"] = "GHOST"
    d["links"] = [{"before": "C1", "after": "C9"}]
    paths = {path for path, _, _ in issues_of(d)}
    assert {"calls.2.port_id", "calls.1.vessel_id", "links.0.after"} <= paths


def test_field_errors_are_reported_at_once() -> None:
    d = good()
    d["vessels"][0]["imo"] = "123"
    d["calls"][0]["cargo"] = "bananas"
    paths = {path for path, _, _ in issues_of(d)}
    assert {"vessels.0.imo", "calls.0.cargo"} <= paths


def test_a_window_too_short_is_not_bad_input_but_an_unserved_call() -> None:
    from optimizer.solver import SolveOptions
    from tests.builders import solve_plan

    d = good()
    d["calls"][0]["latest_departure"] = at(5)  # ETA 2 h + 10 h handling
    d["calls"][2]["latest_departure"] = at(4)  # ETA 3 h + 6 h handling
    plan = solve_plan(load_problem(d), SolveOptions(time_limit_s=2, workers=1))  # accepted
    unserved = {u.call_id: u.reasons for u in plan.unserved}
    assert set(unserved) == {d["calls"][0]["id"], d["calls"][2]["id"]}
    assert all("must leave by" in r[0] and "servable if latest departure >=" in r[0]
               for r in unserved.values())
    assert len(plan.calls) == len(d["calls"]) - 2
    # a window that contradicts itself is still refused
    d["calls"][1]["earliest_start"], d["calls"][1]["latest_departure"] = at(9), at(8)
    assert ("calls.1.latest_departure", "impossible_window") in {(p, k) for p, k, _ in issues_of(d)}


def test_links_forming_a_cycle() -> None:
    d = good()
    d["links"] = [{"before": "C2", "after": "C3"}, {"before": "C3", "after": "C1"}]
    assert any(kind == "cycle" for _, kind, _ in issues_of(d))


def test_call_in_no_voyage() -> None:
    d = good()
    d["voyages"] = d["voyages"][:1]
    assert any(path == "calls.2.id" and kind == "missing_voyage" for path, kind, _ in issues_of(d))


def test_malformed_json_names_the_problem() -> None:
    found = issues_of(json.dumps(good())[:-5])
    assert found and found[0][1] == "json_invalid"


def test_absurd_time_zone_names_the_field() -> None:
    d = good()
    d["ports"][0]["timezone"] = "A" * 5000
    assert any(path == "ports.0.timezone" for path, _, _ in issues_of(d))


def test_field_and_whole_problem_errors_are_reported_together() -> None:
    d = good()
    d["vessels"][0]["imo"] = "9074728"  # check digit: a field error
    d["calls"][1]["cargo"] = "bananas"  # a field error
    d["calls"][2]["port_id"] = "RUMCX"  # a whole-problem error
    d["voyages"][1]["call_ids"] = ["C3", "C9"]  # another one
    d["links"] = [{"before": "C1", "after": "GHOST"}]
    found = {(path, msg) for path, _, msg in issues_of(d)}
    paths = {path for path, _ in found}
    assert {"vessels.0.imo", "calls.1.cargo"} <= paths
    assert ("calls.2.port_id", "unknown port 'RUMCX'") in found
    assert ("voyages.1.call_ids.1", "unknown call 'C9'") in found
    assert ("links.0.after", "unknown call 'GHOST'") in found


def test_records_that_fail_their_fields_are_not_unknown_elsewhere() -> None:
    d = good()
    d["vessels"][0]["imo"] = "123"  # V1 fails, but it exists: its calls and voyage are not "unknown vessel"
    d["calls"][1]["cargo"] = "bananas"  # C2 fails, but voyage 0 names it: not "unknown call", not "no voyage"
    d["ports"][1]["timezone"] = "Mars/Olympus"  # AZBAK fails, but C2 calls there: not "unknown port"
    found = issues_of(d)
    assert {path for path, _, _ in found} == {"vessels.0.imo", "calls.1.cargo", "ports.1.timezone"}


def test_whole_problem_checks_on_the_records_that_parsed() -> None:
    d = good()
    d["horizon_end"] = "whenever"  # no horizon: times are not compared with it
    d["vessels"][1]["length_m"] = 190  # fits no berth at Aktau (A1 is 160 m)
    d["calls"][0]["vessel_id"] = "V2"  # C1 belongs to V2 now, but voyage 0 is V1's
    d["ports"][0]["berths"].append(dict(d["ports"][0]["berths"][0]))  # duplicate berth id A1
    found = {(path, kind) for path, kind, _ in issues_of(d)}
    assert any(path == "horizon_end" for path, _ in found)
    assert ("calls.2", "no_compatible_berth") in found
    assert ("voyages.0.call_ids.0", "wrong_vessel") in found
    assert ("ports.0.berths.1.id", "duplicate_id") in found


def test_every_field_error_kind_still_comes_with_its_field_path() -> None:
    d = good()
    d["calls"] = "not a list"
    d["voyages"][0]["call_ids"] = ["C1", "NOPE"]
    found = {path for path, _, _ in issues_of(d)}
    assert "calls" in found  # calls unreadable: nothing is checked against call ids
    assert "voyages.0.call_ids.1" not in found
