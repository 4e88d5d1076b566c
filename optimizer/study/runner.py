"""How a study's month is handed to whoever lives it: a process of `portsync study capacity`, the
API's solver processes, or a fleet worker. A month travels as JSON (its key and the settings it
is lived with), so every one of them lives the same month from the same text."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from optimizer.study.records import MonthKey, MonthResult


class StudySettings(BaseModel):
    """What every month of a study is lived with: the traffic model's overrides (as in a study
    config file: field -> number, [low, high] or a figure with its source) and the month's limits."""

    model_config = ConfigDict(extra="forbid")

    traffic: dict[str, Any] = Field(
        default_factory=dict,
        description="Overrides of the traffic model "
        "(optimizer.study.traffic.TrafficModel fields), e.g. "
        '{"aktau_teu_per_year": 200000}.',
    )
    limits: dict[str, Any] = Field(
        default_factory=dict,
        description="The month's limits "
        "(optimizer.study.month.MonthLimits fields): days lived, solve budgets.",
    )

    def validated(self) -> tuple[Any, Any]:
        """The traffic model and the limits (ValueError naming the bad field)."""
        from optimizer.study.month import MonthLimits
        from optimizer.study.traffic import model_from

        return model_from(self.traffic, "settings.traffic"), MonthLimits.model_validate(self.limits)


def mistakes(options: list[str], settings: StudySettings) -> list[tuple[tuple[str | int, ...], str]]:
    """Everything wrong with a study's options and settings, each with where it is (relative to
    the request: ("options", i), ("settings", "traffic"), ("settings", "limits", field))."""
    from pydantic import ValidationError

    from optimizer.study.month import MonthLimits
    from optimizer.study.options import OptionError, parse_option
    from optimizer.study.traffic import TrafficConfigError, model_from

    found: list[tuple[tuple[str | int, ...], str]] = []
    for i, option in enumerate(options):
        try:
            parse_option(option)
        except OptionError as exc:
            found.append((("options", i), str(exc)))
    try:
        model_from(settings.traffic, "settings.traffic")
    except TrafficConfigError as exc:
        found.append((("settings", "traffic"), str(exc)))
    try:
        MonthLimits.model_validate(settings.limits)
    except ValidationError as exc:
        found += [(("settings", "limits", *e["loc"]), e["msg"]) for e in exc.errors()]
    return found


def month_body(key: MonthKey, settings: StudySettings) -> str:
    """The month as JSON, after checking that it can be lived (its option, model and limits)."""
    from optimizer.study.options import parse_option

    parse_option(key.option)
    settings.validated()
    return json.dumps(
        {"key": key.model_dump(mode="json"), "settings": settings.model_dump(mode="json")}, sort_keys=True
    )


def live(key: MonthKey, settings: StudySettings) -> MonthResult:
    """Live one month (a module-level function: it crosses into worker processes)."""
    from optimizer.study.month import live_month

    model, limits = settings.validated()
    return live_month(model, key, limits)


def live_month_body(body: str) -> str:
    """Live the month a job carries; its MonthResult as JSON."""
    data = json.loads(body)
    key = MonthKey.model_validate(data["key"])
    return live(key, StudySettings.model_validate(data["settings"])).model_dump_json()
