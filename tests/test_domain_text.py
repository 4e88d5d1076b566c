"""The input records' rules for strings (no NUL, no lone surrogate, length caps) and the fields
named by the checks that compare two fields of a record."""

from __future__ import annotations

from typing import Any

import pytest

from optimizer.domain import MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_REASON_CHARS
from optimizer.loading import load_problem
from optimizer.validation import InvalidProblem
from tests.builders import at, two_ships_one_berth_dict

tiny = two_ships_one_berth_dict


def issues(data: dict[str, Any] | str) -> dict[str, tuple[str, str]]:
    with pytest.raises(InvalidProblem) as exc:
        load_problem(data)
    return {".".join(str(p) for p in i.loc): (i.msg, i.type) for i in exc.value.issues}


@pytest.mark.parametrize("bad", ["\ud800", "ok\udfff", "a\x00b"])
@pytest.mark.parametrize("where", ["name", "description", "vessels.0.name", "ports.0.name",
                                   "ports.0.berths.0.name", "ports.0.timezone"])
def test_nul_and_lone_surrogates_are_refused_in_every_text_field(where: str, bad: str) -> None:
    d = tiny()
    *path, last = where.split(".")
    target: Any = d
    for part in path:
        target = target[int(part)] if part.isdigit() else target[part]
    target[last] = bad
    found = issues(d)
    assert list(found) == [where]
    msg, kind = found[where]
    assert kind == "string_unsafe"
    assert ("NUL" in msg) if "\x00" in bad else ("lone surrogate" in msg)


def test_reasons_and_lists_of_ids_are_checked_too() -> None:
    d = tiny(links=[{"before": "C1", "after": "C2", "reason": "x\x00"}])
    d["ports"][0]["closures"] = [{"start": at(1), "end": at(2), "reason": "\ud83d"}]
    d["voyages"][0]["call_ids"] = ["C1", "\ud800"]
    found = issues(d)
    assert found["links.0.reason"][1] == "string_unsafe"
    assert found["ports.0.closures.0.reason"][1] == "string_unsafe"
    assert found["voyages.0.call_ids"] == ("item 1 contains a lone surrogate (\\ud800) at character 0",
                                           "string_unsafe")


def test_valid_unicode_is_kept() -> None:
    d = tiny(name="Актау – Алат 🚢", description="Порт Баку (Ələt)")
    assert load_problem(d).name == "Актау – Алат 🚢"


@pytest.mark.parametrize(("where", "cap"), [("name", MAX_NAME_CHARS), ("description", MAX_DESCRIPTION_CHARS),
                                            ("vessels.0.name", MAX_NAME_CHARS)])
def test_text_lengths_are_capped(where: str, cap: int) -> None:
    d = tiny()
    *path, last = where.split(".")
    target: Any = d
    for part in path:
        target = target[int(part)] if part.isdigit() else target[part]
    target[last] = "x" * cap
    load_problem(d)
    target[last] = "x" * (cap + 1)
    assert issues(d)[where][1] == "string_too_long"


def test_reason_length_is_capped() -> None:
    d = tiny(links=[{"before": "C1", "after": "C2", "reason": "r" * (MAX_REASON_CHARS + 1)}])
    assert issues(d)["links.0.reason"][1] == "string_too_long"


def test_a_five_megabyte_name_is_refused() -> None:
    assert issues(tiny(name="n" * 5_000_000))["name"][1] == "string_too_long"


def test_horizon_errors_name_horizon_end() -> None:
    assert issues(tiny(horizon_end=at(-1)))["horizon_end"][0] == "horizon_end must be after horizon_start"
    assert issues(tiny(horizon_end=at(24 * 367)))["horizon_end"][0] == "horizon may not exceed 366 days"


def test_two_field_checks_name_the_later_field() -> None:
    d = tiny(links=[{"before": "C1", "after": "C1"},
                    {"before": "C1", "after": "C2", "min_gap_hours": 3, "max_gap_hours": 1}])
    d["ports"][0]["closures"] = [{"start": at(5), "end": at(5)}]
    d["calls"][0]["frozen"] = {"berth_id": "A1", "berth_start": at(3), "berth_end": at(2)}
    d["calls"][1]["frozen"] = {"berth_id": "A1", "berth_start": at(3), "berth_end": at(4), "arrival": at(3.5)}
    found = issues(d)
    assert found["links.0.after"][0] == "a call cannot be linked to itself"
    assert found["links.1.max_gap_hours"][0] == "max_gap_hours must be at least min_gap_hours"
    assert found["ports.0.closures.0.end"][0] == "end must be after start"
    assert found["calls.0.frozen.berth_end"][0] == "berth_end must be after berth_start"
    assert found["calls.1.frozen.arrival"][0] == "arrival must not be after berth_start"
