"""Options that are decisions: parsed from short strings, each changing what it says."""

from __future__ import annotations

import pytest

from optimizer.domain import Problem, handling_hours
from optimizer.study.options import OptionError, parse_option
from optimizer.study.traffic import TrafficModel, build_world

SMALL = TrafficModel(days=6, warmup_days=2, tail_days=1)


def _closed_hours(problem: Problem, port_id: str) -> float:
    port = next(p for p in problem.ports if p.id == port_id)
    return sum((c.end - c.start).total_seconds() / 3600 for c in port.closures)


@pytest.mark.parametrize(("text", "name"), [
    ("base", "base"),
    ("add-berth:AKTAU-B2", "add-berth:KZAAU-B02"),
    ("add-berth:kzkur:Rail_Ferry", "add-berth:KZKUR:rail_ferry"),
    ("remove-berth:AZBAK-B07", "remove-berth:AZBAK-B07"),
    ("productivity:ALAT-B3:1.25", "productivity:AZBAK-B03:1.25"),
    ("storms:1.5", "storms:1.5"),
    ("ferries:+2", "ferries:+2"),
])
def test_options_parse_to_their_canonical_names(text: str, name: str) -> None:
    o = parse_option(text)
    assert o.name == name
    assert parse_option(o.name) == o


@pytest.mark.parametrize(("text", "says"), [
    ("add-berth:KZAAU-B77", "unknown berth 'KZAAU-B77'; berths: KZAAU-B01"),
    ("productivity:AZBAK-B03", "give a berth and a positive factor"),
    ("productivity:AZBAK-B03:-1", "give a berth and a positive factor"),
    ("storms:none", "positive factor"),
    ("ferries:2", "with a plus sign"),
    ("dredge:KZKUR", "unknown option 'dredge'"),
    ("add-berth:KZKUR:oil", "unknown cargo kind 'oil'"),
    ("add-berth:KZKUR:liquid_bulk", "KZKUR has no liquid_bulk berth"),
    ("base:1", "base takes no argument"),
])
def test_bad_option_strings_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(OptionError, match=says.replace("(", r"\(")):
        parse_option(text)


def test_each_option_changes_what_it_says() -> None:
    world = build_world(SMALL, 1)
    p = world.problem
    berths = {pt.id: len(pt.berths) for pt in p.ports}

    added = parse_option("add-berth:KZAAU-CT").problem(p)
    assert {pt.id: len(pt.berths) for pt in added.ports} == {**berths, "KZAAU": berths["KZAAU"] + 1}
    copy = next(b for b in added.berths().values() if b.id == "KZAAU-CT-ADD1")
    assert set(copy.cargo_kinds) == set(p.berths()["KZAAU-CT"].cargo_kinds) and copy.unavailable == []
    kind = parse_option("add-berth:KZKUR:rail_ferry").problem(p)
    assert any(b.id.startswith("KZKUR-RF1-ADD") for b in kind.berths().values())

    removed = parse_option("remove-berth:AZBAK-B07").problem(p)
    assert "AZBAK-B07" not in removed.berths() and len(removed.berths()) == len(p.berths()) - 1
    with pytest.raises(OptionError, match="fit no berth of their port"):
        parse_option("remove-berth:KZAAU-CT").problem(p)  # the only container berth at Aktau

    faster = parse_option("productivity:AZBAK-B03:1.25").problem(p)
    b0, b1 = p.berths()["AZBAK-B03"], faster.berths()["AZBAK-B03"]
    c = next(c for c in p.calls if c.port_id == "AZBAK" and c.cargo.value == "container")
    h0, h1 = handling_hours(c, b0), handling_hours(c, b1)
    assert h0 is not None and h1 is not None and h1 == pytest.approx(h0 / 1.25)

    storms = parse_option("storms:2")  # over several months: one short month may hold one storm either way
    for port in ("AZBAK", "KZKUR"):
        calm = sum(_closed_hours(build_world(SMALL, seed).problem, port) for seed in range(1, 9))
        stormy = sum(_closed_hours(build_world(SMALL, seed, storm_scale=storms.storm_scale).problem, port)
                     for seed in range(1, 9))
        assert stormy > 1.3 * calm

    ferries = parse_option("ferries:+2")
    more = build_world(ferries.model(SMALL), 1).problem
    def ferry_calls(q: Problem, port: str) -> int:
        return sum(1 for c in q.calls if c.port_id == port and c.cargo.value in ("rail_ferry", "ro_ro"))

    # 2 more a day at Kuryk over 9 generated days: about 18 more calls there and at Alat
    assert ferry_calls(more, "KZKUR") - ferry_calls(p, "KZKUR") == pytest.approx(18, abs=4)
    assert ferry_calls(more, "AZBAK") - ferry_calls(p, "AZBAK") == pytest.approx(18, abs=4)
