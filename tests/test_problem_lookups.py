"""Problem's id maps are built once per problem; copies and reassigned fields get their own."""

from __future__ import annotations

import copy
import pickle

from optimizer.domain import Call, Problem, Voyage
from tests.builders import berth, call, make_problem, port, vessel, voyage


def small() -> Problem:
    return make_problem(
        [port("KZAAU", [berth("A1"), berth("A2")]), port("AZBAK", [berth("B1")], tz="Asia/Baku")],
        [vessel("V1"), vessel("V2")],
        [call("C1", "V1", "KZAAU", 10), call("C2", "V1", "AZBAK", 4), call("C3", "V2", "KZAAU", 6)],
        [voyage("V1", 1, "C1", "C2"), voyage("V2", 2, "C3")],
    )


def lookups(p: Problem) -> tuple[object, ...]:
    return (p.call_map(), p.vessel_map(), p.berths(), p.berth_port(), p.voyage_order())


def test_lookups_are_built_once_and_match_the_lists() -> None:
    p = small()
    first = lookups(p)
    assert all(a is b for a, b in zip(first, lookups(p), strict=True))
    assert list(p.call_map()) == ["C1", "C2", "C3"] and p.call_map()["C2"] is p.calls[1]
    assert p.berth_port()["B1"].id == "AZBAK" and set(p.berths()) == {"A1", "A2", "B1"}
    assert p.voyage_order()["C2"] == (p.voyages[0], 1)


def test_a_copy_with_other_calls_has_its_own_lookups() -> None:
    p = small()
    lookups(p)  # built before the copy: the copy must not keep them
    fewer = p.model_copy(update={"calls": p.calls[:2], "voyages": [p.voyages[0]],
                                 "vessels": p.vessels[:1]})
    assert list(fewer.call_map()) == ["C1", "C2"]
    assert set(fewer.vessel_map()) == {"V1"} and set(fewer.voyage_order()) == {"C1", "C2"}
    assert list(p.call_map()) == ["C1", "C2", "C3"]  # the original is untouched
    renamed = p.model_copy(update={"calls": [Call.model_validate({**c.model_dump(), "id": c.id + "x"})
                                             for c in p.calls]})
    assert list(renamed.call_map()) == ["C1x", "C2x", "C3x"]


def test_deep_and_shallow_copies_map_their_own_records() -> None:
    p = small()
    lookups(p)
    deep = copy.deepcopy(p)
    assert deep.call_map()["C1"] is deep.calls[0] is not p.calls[0]
    deep_model = p.model_copy(deep=True)
    assert deep_model.call_map()["C3"] is deep_model.calls[2] is not p.calls[2]
    shallow = copy.copy(p)
    assert shallow.call_map() == p.call_map() and shallow.call_map() is not p.call_map()


def test_assigning_a_field_forgets_the_lookups() -> None:
    p = small()
    lookups(p)
    p.calls = p.calls[1:]
    p.voyages = [Voyage.model_validate({**p.voyages[0].model_dump(), "call_ids": ["C2"]}), p.voyages[1]]
    assert list(p.call_map()) == ["C2", "C3"] and p.voyage_order()["C2"][1] == 0


def test_lookups_are_not_data() -> None:
    p, q = small(), small()
    lookups(p)
    assert p == q  # built maps do not make problems differ
    assert p.model_dump() == q.model_dump() and "_lookups" not in p.model_dump_json()
    assert "_lookups" not in dict(p)
    again = pickle.loads(pickle.dumps(p))
    assert "_lookups" not in again.__dict__ and again == p and list(again.call_map()) == ["C1", "C2", "C3"]
