"""Seeded Caspian-like scenarios: the three ports as published, a plausible fleet, its traffic,
storms and maintenance, and named scenarios built from them (the entry points).

Modules: ``ports`` (Aktau, Kuryk, Alat and their berths), ``fleet`` (vessels), ``traffic``
(the streams of calls), ``weather`` (closures and maintenance windows), ``targets`` (traffic
sized by throughput targets), ``presets`` (``generate``, ``grain_rush``, ``month``).
"""

from optimizer.generator.fleet import caspian_fleet, imo_with_check_digit
from optimizer.generator.ports import AKTAU, ALAT, KURYK, auto_berth_scale, berth_copies, caspian_ports
from optimizer.generator.presets import DEFAULT_START, generate, grain_rush, month
from optimizer.generator.targets import MonthTraffic, offered_load
from optimizer.generator.traffic import traffic_summary, traffic_text

__all__ = [
    "AKTAU",
    "ALAT",
    "DEFAULT_START",
    "KURYK",
    "MonthTraffic",
    "auto_berth_scale",
    "berth_copies",
    "caspian_fleet",
    "caspian_ports",
    "generate",
    "grain_rush",
    "imo_with_check_digit",
    "month",
    "offered_load",
    "traffic_summary",
    "traffic_text",
]
