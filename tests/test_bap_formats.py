"""Readers for the standard DBAP benchmark files, their translation into problems, and the files'
own objective on a known schedule (Cordeau I3 i01, 1409)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from optimizer.checker import check
from optimizer.formats.bap import (
    HORIZON_START,
    BapFormatError,
    BapInstance,
    bap_objective,
    detect_format,
    read_bap,
    read_cordeau,
    read_cordeau_solution,
    read_kramer,
)
from optimizer.loading import load_problem
from tests.builders import BAP, need_bap

CORDEAU = BAP / "cordeau_I3_partial"
KRAMER = BAP / "kramer_lalla_ruiz_iori_voss"
LALLA = BAP / "lalla_ruiz_f30x3_f60x7"




def instance_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.glob("*.txt") if not f.name.startswith("sol-"))


def at(units: float) -> object:
    return HORIZON_START + timedelta(hours=units)


# -- reading -----------------------------------------------------------------------------------


def test_cordeau_file_is_berth_major_with_zero_forbidden() -> None:
    inst = read_cordeau(need_bap(CORDEAU) / "i01.txt")
    assert (inst.n_vessels, inst.n_berths, inst.format) == (60, 13, "cordeau")
    assert len(inst.forbidden_pairs()) == 353
    # Row 1 of the file is berth 1 over all ships: ship 1 takes 10 at berths 1-9 only.
    assert inst.handling[0] == [10] * 9 + [None] * 4
    assert inst.handling[46] == [None] + [14] * 6 + [None] * 6
    assert inst.berth_open == [14] * 13 and inst.berth_close == [300] * 13
    assert inst.arrivals[:3] == [120, 87, 23]
    assert all(d - a == 300 for a, d in zip(inst.arrivals, inst.deadlines, strict=True))
    assert inst.weights == [1] * 60 and not inst.has_weights


def test_kramer_file_is_vessel_major_with_99999_forbidden_and_weights() -> None:
    path = need_bap(KRAMER) / "f200x15-01.txt"
    inst = read_kramer(path)
    assert (inst.n_vessels, inst.n_berths, inst.format) == (200, 15, "kramer")
    # The fifth line of the file is vessel 1's row over the 15 berths.
    row = [int(x) for x in path.read_text().splitlines()[4].split()]
    assert inst.handling[0] == [None if h >= 99999 else h for h in row]
    assert inst.arrivals[:3] == [10, 104, 84]
    assert inst.deadlines == [600] * 200 and inst.berth_close == [600] * 15
    assert inst.has_weights and inst.weights == [1] * 200 and inst.ignored_tokens == 0


def test_lalla_ruiz_file_reads_in_kramer_format_without_weights() -> None:
    inst = read_kramer(need_bap(LALLA) / "f30x3-01.txt")
    assert (inst.n_vessels, inst.n_berths) == (30, 3)
    assert inst.arrivals[:3] == [71, 90, 39] and inst.berth_open == [12, 12, 12]
    # Line 4 (12 12 12) is the berth openings, not ship 1's row; ships 23-25 may not use berth 1.
    assert inst.handling[0] == [20, 20, 40] and inst.handling[22] == [None, 18, 12]
    assert inst.forbidden_pairs() == [(22, 0), (23, 0), (24, 0)]
    assert not inst.has_weights and inst.weights == [1] * 30


def test_padding_tokens_are_ignored() -> None:
    # f55x5-01 has 7 values on its closing line and 70 on its deadline line: 17 extra `600`s.
    inst = read_kramer(need_bap(LALLA) / "f55x5-01.txt")
    assert (inst.n_vessels, inst.n_berths) == (55, 5)
    assert inst.berth_close == [600] * 5 and inst.deadlines == [600] * 55
    assert inst.ignored_tokens == 17 and not inst.has_weights and inst.weights == [1] * 55


@pytest.mark.parametrize(("folder", "fmt"), [(CORDEAU, "cordeau"), (KRAMER, "kramer"), (LALLA, "kramer")])
def test_format_is_detected_for_every_file_of_each_folder(folder: Path, fmt: str) -> None:
    files = instance_files(need_bap(folder))
    assert files
    for f in files:
        assert detect_format(f) == fmt, f
        assert read_bap(f).format == fmt


def test_detection_of_files_written_on_one_line(tmp_path: Path) -> None:
    cordeau = tmp_path / "c.txt"  # 2 ships, 1 berth: "N M", h, window, arrivals, deadlines
    cordeau.write_text("2 1 5 0 0 10 1 2 20 20\n")
    with pytest.raises(BapFormatError, match="vessel 2 may use no berth"):
        read_bap(cordeau)
    cordeau.write_text("2 2 5 0 5 7 0 10 0 10 1 2 20 20\n")  # the 0 in the matrix says Cordeau
    assert detect_format(cordeau) == "cordeau"
    assert read_bap(cordeau).handling == [[5, 5], [None, 7]]
    cordeau.write_text("2 1 5 7 0 10 1 2 20 20\n")  # fits both formats and has no forbidden marker
    with pytest.raises(BapFormatError, match="cannot tell Cordeau from Kramer"):
        detect_format(cordeau)
    kramer = tmp_path / "k.txt"  # N, M, arrivals, opening, rows, closing, deadlines, weights
    kramer.write_text("2 1 1 2 0 5 99999 10 20 20 3 1\n")
    assert detect_format(kramer) == "kramer"
    with pytest.raises(BapFormatError, match="vessel 2 may use no berth"):
        read_bap(kramer)


def test_bad_files_name_the_file_and_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("2\n1\n1 x\n")
    with pytest.raises(BapFormatError, match=r"bad\.txt: line 3: 'x' is not an integer"):
        read_bap(bad)
    bad.write_text("2\n1\n1 2\n0\n5\n")
    with pytest.raises(BapFormatError, match=r"neither DBAP format fits.*this one has 6"):
        read_bap(bad)
    with pytest.raises(BapFormatError, match="ends early while reading handling row of vessel 2"):
        read_kramer(bad)


# -- as a problem ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [CORDEAU / "i01.txt", KRAMER / "f200x15-01.txt", LALLA / "f55x5-01.txt"])
def test_instance_becomes_a_valid_single_port_problem(path: Path) -> None:
    need_bap(path.parent)
    inst = read_bap(path)
    problem = inst.to_problem()
    assert load_problem(problem.model_dump(mode="json")) == problem
    assert problem.time_step_minutes == 60 and problem.horizon_start == HORIZON_START
    (port,) = problem.ports
    assert port.id == "BAP" and port.timezone == "UTC"
    assert [b.id for b in port.berths] == [f"B{k + 1}" for k in range(inst.n_berths)]
    assert port.berths[0].unavailable[0].end == at(inst.berth_open[0])
    assert port.berths[0].unavailable[1].start == at(inst.berth_close[0])
    assert len(problem.calls) == len(problem.voyages) == len(problem.vessels) == inst.n_vessels
    call, voyage = problem.calls[0], problem.voyages[0]
    assert voyage.eta == at(inst.arrivals[0]) and voyage.call_ids == ["C1"]
    allowed = [f"B{k + 1}" for k, h in enumerate(inst.handling[0]) if h is not None]
    assert call.allowed_berths == allowed
    assert call.handling.hours_by_berth == {b: float(h) for b, h in zip(
        allowed, [h for h in inst.handling[0] if h is not None], strict=True)}
    assert call.latest_departure == at(inst.deadlines[0]) and call.weight == inst.weights[0]


def test_weights_reach_the_problem_and_the_objective() -> None:
    inst = BapInstance(name="w", format="kramer", arrivals=[0, 1], handling=[[3], [2]], berth_open=[0],
                       berth_close=[50], deadlines=[50, 50], weights=[1, 4], has_weights=True)
    problem = inst.to_problem()
    assert [c.weight for c in problem.calls] == [1, 4]
    from optimizer.plan import CallAssignment

    plan = [CallAssignment(call_id="C1", berth_id="B1", arrival=at(0), berth_start=at(2), berth_end=at(5)),
            CallAssignment(call_id="C2", berth_id="B1", arrival=at(1), berth_start=at(0), berth_end=at(2))]
    # Ship 1 done at 5 (service 5), ship 2 at 2 (service 1, weight 4): 5 + 4 = 9.
    assert bap_objective(inst, plan) == 9.0
    with pytest.raises(ValueError, match="misses 1 of 2 calls: C2"):
        bap_objective(inst, plan[:1])


# -- the known i01 schedule --------------------------------------------------------------------


def test_cordeau_i01_schedule_is_checker_clean_with_objective_1409() -> None:
    inst = read_cordeau(need_bap(CORDEAU) / "i01.txt")
    schedule = read_cordeau_solution(CORDEAU / "sol-i01.txt", inst)
    assert len(schedule) == 60
    assert bap_objective(inst, schedule) == 1409.0
    report = check(inst.to_problem(), schedule)
    assert report.ok, report.violations[:3]


def test_checker_sees_forbidden_berths_and_berth_windows_of_the_file() -> None:
    inst = read_cordeau(need_bap(CORDEAU) / "i01.txt")
    problem = inst.to_problem()
    schedule = read_cordeau_solution(CORDEAU / "sol-i01.txt", inst)
    by_id = {a.call_id: a for a in schedule}
    # Ship 25 may not use berth 1 in the file.
    moved = [a.model_copy(update={"berth_id": "B1"}) if a.call_id == "C25" else a for a in schedule]
    assert not check(problem, moved).ok
    # Berth windows are [14, 300]: ship 50 starts at 14 on berth 3; one hour earlier is closed.
    c50 = by_id["C50"]
    assert c50.berth_start == at(14)
    early = [a.model_copy(update={"berth_start": at(13), "berth_end": c50.berth_end - timedelta(hours=1)})
             if a.call_id == "C50" else a for a in schedule]
    assert not check(problem, early).ok
