"""The study's traffic model: sourced defaults, config overrides, growth."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.study.traffic import (
    DEMAND,
    Figure,
    Span,
    TrafficConfigError,
    TrafficModel,
    build_world,
    calls_by_stream,
    load_model,
)

SMALL = {"days": 6, "warmup_days": 2, "tail_days": 1}


def test_every_default_figure_carries_its_source() -> None:
    m = TrafficModel()
    figures = [getattr(m, n) for n in TrafficModel.model_fields if isinstance(getattr(m, n), Figure | Span)]
    assert len(figures) >= 25
    for f in figures:
        assert "caspian.md" in f.source or f.source.startswith("ESTIMATE"), f.source
    # today's traffic as published, not the 300k target
    assert m.aktau_teu_per_year.value == 140_000
    assert "140k TEU" in m.aktau_teu_per_year.source


def test_a_toml_override_changes_the_calls_as_stated(tmp_path: Path) -> None:
    cfg = tmp_path / "f.toml"
    cfg.write_text("days = 6\nwarmup_days = 2\ntail_days = 1\naktau_teu_per_year = 420000\n"
                   "[traffic]\ntanker_t = [9000, 11000]\n")
    m = load_model(cfg)
    assert m.aktau_teu_per_year.value == 420_000 and m.aktau_teu_per_year.source == f"set in {cfg}"
    assert m.tanker_t.pair == (9000, 11000)
    base = TrafficModel(**SMALL)
    # 9 days x 2 x TEU/yr / 365 / 370 TEU a call: 3 times the feeder calls
    assert base.streams()["aktau_alat_feeder"] == round(2 * 140_000 * 9 / 365 / 370)
    assert m.streams()["aktau_alat_feeder"] == round(2 * 420_000 * 9 / 365 / 370)
    got = calls_by_stream(build_world(m, 0))["KZAAU container_feeder"]
    was = calls_by_stream(build_world(base, 0))["KZAAU container_feeder"]
    assert 2.4 * was <= got <= 3.6 * was
    tankers = [c for c in build_world(m, 0).problem.calls if c.cargo.value == "liquid_bulk"]
    assert tankers and all(9000 <= (c.handling.quantity or 0) <= 11000 for c in tankers)


@pytest.mark.parametrize(("text", "field"), [
    ("aktau_teu_per_year = -5", "aktau_teu_per_year.value"),
    ("ferries_a_day = 3", "ferries_a_day"),
    ("grain_t = [5000, 4000]", "grain_t"),
    ("rail_ferry_share = 1.5", "rail_ferry_share"),
    ("days = 'thirty'", "days"),
])
def test_a_bad_config_value_names_its_field(tmp_path: Path, text: str, field: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text + "\n")
    with pytest.raises(TrafficConfigError, match=field.replace(".", r"\.")):
        load_model(cfg)


def test_a_json_config_and_a_broken_file(tmp_path: Path) -> None:
    j = tmp_path / "f.json"
    j.write_text('{"kuryk_ferries_per_day": {"value": 4, "source": "port authority 2026"}}')
    assert load_model(j).kuryk_ferries_per_day == Figure(value=4, source="port authority 2026")
    broken = tmp_path / "broken.toml"
    broken.write_text("days = = 3")
    with pytest.raises(TrafficConfigError, match="not TOML"):
        load_model(broken)


def test_growth_two_gives_about_twice_the_calls_of_each_stream() -> None:
    base = TrafficModel(**SMALL)
    twice = base.scaled(2.0)
    for name in DEMAND:
        assert getattr(twice, name).value == pytest.approx(2 * getattr(base, name).value)
        assert "(x 2)" in getattr(twice, name).source
    assert twice.tanker_t == base.tanker_t  # lots are not demand
    one, two = calls_by_stream(build_world(base, 3)), calls_by_stream(build_world(twice, 3))
    assert set(one) == set(two)
    for key, n in one.items():
        if n >= 8:  # streams big enough for the ratio to mean something
            assert 1.5 <= two[key] / n <= 2.5, (key, n, two[key])
    assert 1.85 <= sum(two.values()) / sum(one.values()) <= 2.15


def test_the_same_seed_gives_the_same_month() -> None:
    m = TrafficModel(**SMALL)
    a, b = build_world(m, 7), build_world(m, 7)
    assert a.problem.model_dump() == b.problem.model_dump()
    assert a.problem.model_dump() != build_world(m, 8).problem.model_dump()
