"""Regenerate the Caspian scenario files from portsync's generator (fixed seeds).

    .venv/bin/python instances/caspian/make_scenarios.py

Writes week.json, storm.json, grain-rush.json and month.json next to this script (JSON, indent 2), and
week-events.jsonl, the week's event stream for `portsync replay` (optimizer.generator.events). The seed
(2026) was fixed before any scenario was looked at; do not shop for seeds that make a plan look good.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from optimizer.domain import Problem
from optimizer.generator import KURYK, MonthTraffic, generate, grain_rush, month, offered_load, traffic_text
from optimizer.generator.events import week_events
from optimizer.live.replaying import dump_event_lines

HERE = Path(__file__).resolve().parent
SEED = 2026
WEEK_START = datetime(2026, 11, 2, tzinfo=UTC)
RUSH_START = datetime(2026, 10, 12, tzinfo=UTC)
STORM = (3.0, 48.0)  # start day, hours: a basin-wide closure from day 3 to day 5

SOURCES = (
    "Facts (shared/domain/caspian.md): Aktau berth layout and lengths from the TACIS masterplan (dry cargo "
    "1-3, oil 4, 5, 9, 10, grain 6, ferry 8) plus the container hub opened June 2025; Kuryk's 2 rail-ferry "
    "and 2 Ro-Ro berths and the Sarzha terminal (general cargo, grain), 8 m depth after 2024 dredging; "
    "Alat's 7 dry-cargo/container, 2 rail-ferry and 2 Ro-Ro/Ro-Pax berths (auxiliary berth left out); "
    "ASCO-type rail ferries 154.5 m, 13.9-14 kn, 6-8 h (single deck) or 10-12 h (double deck) at berth; "
    "feeders ~113 m, 225-314 TEU; tankers 8,000-12,400 dwt loading ~10,000 t at Aktau; grain ships "
    "~5,000 dwt; crossings Kuryk-Alat 235 nm and Aktau-Alat 255 nm; storms close both shores together "
    "and Azerbaijan closes all its ports at once. "
    "ESTIMATES: drafts (Aktau ~6 m dry cargo and grain, ~7 m oil, 6.5 m container hub; Kuryk and Alat "
    "7 m; vessels 3.8-6.5 m loaded); berth lengths at Kuryk (165-175 m) and Alat (175 m = 2,100 m of "
    "quay over 12 berths); Aktau ferry berth 8 taken as 160 m (100 m of quay in the masterplan, the "
    "154.5 m ferries moor stern-to at the link-span); rail-ferry berths also take Ro-Ro; handling rates "
    "(grain 220 t/h at berth 6, 90 t/h at the dry-cargo berths, 140 t/h at Sarzha, 150 t/h discharge at "
    "Alat; oil 420-500 t/h; containers 20-22 TEU/h), Ro-Ro 5-8 h, feeders 12-22 h, tankers ~1 day, grain "
    "1-3 days; service and minimum speeds other than the ferries' maximum; the traffic mix (Alat's "
    "ferry wagons came 45 % from Kuryk, 42 % from Turkmenbashi, 13 % from Aktau in 2017; ferries at "
    "Kuryk kept well under its 5-8 a day); storm timing; maintenance windows; train times; requested "
    "departures; the vessels themselves (fictional names, synthetic IMO numbers with valid check digits, "
    "MMSIs with MID 423 Azerbaijan / 436 Kazakhstan)."
)


def _hours(problem: Problem, port_id: str) -> str:
    port = problem.port(port_id)
    if not port.closures:
        return f"{port_id} open"
    spans = ", ".join(f"{w.start:%d %b %H:%M}-{w.end:%d %b %H:%M} local" for w in port.closures)
    total = sum((w.end - w.start).total_seconds() for w in port.closures) / 3600
    return f"{port_id} {total:.0f} h ({spans})"


def _facts(problem: Problem) -> str:
    ferries = sum(1 for c in problem.calls if c.port_id == KURYK and c.cargo.value in ("rail_ferry", "ro_ro"))
    days = (problem.horizon_end - problem.horizon_start).total_seconds() / 86400
    maint = [f"{b.id} {w.start:%d %b %H:%M}-{w.end:%H:%M}" for p in problem.ports for b in p.berths
             for w in b.unavailable]
    return (
        f"Traffic: {traffic_text(problem, sep=' ')}. Ferry calls at Kuryk: {ferries} "
        f"({ferries / days:.1f} a day; "
        f"it handles 5-8). Weather closures (no berthing or sailing): "
        f"{'; '.join(_hours(problem, p.id) for p in problem.ports)}. "
        f"Berth maintenance: {', '.join(maint) or 'none'}. {len(problem.links)} links."
    )


def week() -> Problem:
    p = generate(100, 7, SEED, start=WEEK_START, name="caspian-week")
    p.description = (
        "A November week of Trans-Caspian traffic at Aktau (KZAAU), Kuryk (KZKUR) and the Port of Baku at "
        "Alat (AZBAK), made by portsync's generator (optimizer/generator.py, generate(100, 7, seed=2026)). "
        "Rail ferries shuttle Kuryk-Alat and Aktau-Alat, several round trips each, and Ro-Ro ferries "
        "Kuryk-Alat; ferries from Turkmenbashi (not modelled) call at Alat; container feeders shuttle "
        "between the Aktau hub and Alat, and feeders at Alat take containers a rail ferry brought (a link "
        "with 3-6 h for the transfer); tankers load at the Aktau oil berths for the Baku oil terminals; "
        "grain ships load at Aktau (berth 6 or the dry-cargo berths) and at Kuryk (Sarzha) when their train "
        "is in (earliest start), some discharge at Alat; general cargo and dry bulk move between the Kazakh "
        "ports and Alat. Most calls have a requested (soft) departure; some tankers have a hard latest "
        "departure (charter cancelling date), always reachable. Weights: rail ferry 3, Ro-Ro and feeder 2, "
        "others 1. Storms about every five days in November with correlated closures (Kuryk closes longest, "
        f"Aktau least). {_facts(p)} {SOURCES}"
    )
    return p


def storm() -> Problem:
    p = generate(100, 7, SEED, start=WEEK_START, basin_closure=STORM, name="caspian-storm")
    p.description = (
        "The week of week.json (same vessels, calls, links and maintenance) with a basin-wide NW storm: "
        "all three ports closed for 48 h from day 3 (5 Nov) to day 5 (7 Nov); Azerbaijan closes all its "
        "ports at once, Kuryk closes 3 h earlier and reopens 6 h later, Aktau closes 2 h later; the closures "
        "merge with the week's own storm where they overlap. Hard latest departures are set after a "
        "first-come-first-served plan that sails through this storm, so they can still be met. "
        f"{_facts(p)} {SOURCES}"
    )
    return p


def grain_rush_scenario() -> Problem:
    p = grain_rush(SEED, start=RUSH_START)
    loads = [c for c in p.calls if c.port_id == "KZAAU" and c.cargo.value == "grain"]
    rush = len(loads)
    trained = sum(1 for c in loads if c.earliest_start is not None)
    p.name = "caspian-grain-rush"
    p.description = (
        "A grain rush at Aktau after the harvest (cf. ~700 grain wagons queued at Aktau in October 2025 "
        "after irregular vessel arrivals), made by portsync's generator (grain_rush(seed=2026)): "
        f"{rush} grain ships (~5,000 dwt, lots of 4,000-5,500 t) arrive at Aktau within about two days, "
        "having been held up together, on top of five days of ordinary traffic at the three ports. They "
        "load at grain berth 6 (elevator, ESTIMATE 220 t/h) or at dry-cargo berths 1-3 (ESTIMATE 90 t/h, "
        "berth 3 only for ships up to 100 m); about 60 % sail on to discharge at Alat. Rail: 200-300 "
        "wagons are already queued (enough for the first lots); further grain trains of 54-58 wagons of "
        "~68 t (ESTIMATES) arrive every 6-10 h, and a ship's loading cannot start before the train that "
        f"completes its lot is in ({trained} grain loadings have such an earliest start). Where a train "
        "is split between two ships, a link keeps the second ship's loading at least 2 h after the first "
        f"ship has finished (the remainder is shunted on the rail front). {_facts(p)} {SOURCES}"
    )
    return p


def _offered(problem: Problem, at_least: float = 0.5) -> str:
    """The berth groups the month loads most, busiest first (see targets.offered_load)."""
    loads = [offered_load(problem, pid, kind) for pid, kind in
             sorted({(c.port_id, c.cargo.value) for c in problem.calls})]
    busy = sorted((x for x in loads if x.ratio >= at_least), key=lambda x: -x.ratio)
    return ", ".join(
        f"{x.port_id} {x.cargo.replace('_', ' ')} {x.handling_hours:,.0f} h on {x.berths} "
        f"berth{'s' if x.berths > 1 else ''} open {x.open_berth_hours:,.0f} h ({100 * x.ratio:.0f} %)"
        for x in busy)


def month_scenario() -> Problem:
    traffic = MonthTraffic()
    p = month(SEED, traffic=traffic, start=WEEK_START, name="caspian-month")
    berths = sum(len(x.berths) for x in p.ports)
    p.description = (
        f"Thirty November days (from 2 Nov 2026, the week's start) on the {berths} real berths of Aktau "
        "(KZAAU), Kuryk (KZKUR) and the Port of Baku at Alat (AZBAK), no berth copies, at the traffic the "
        "ports' targets imply, made by portsync's generator (optimizer/generator/presets.py, "
        "month(seed=2026) with optimizer/generator/targets.py's MonthTraffic). Traffic model, target -> "
        f"calls: {'; '.join(traffic.derivation())}. "
        "The streams are those of week.json (ferry and feeder shuttles with several round trips each, "
        "Turkmenbashi ferries at Alat, transshipment feeders linked to the ferry that brought their "
        "containers, tankers, grain ships loading when their train is in, general cargo and dry bulk); "
        "requested (soft) departures on most calls; some tankers have a hard latest departure (charter "
        "cancelling date) set 24-48 h after a first-come-first-served plan, so a plan serving every call "
        "exists. Storms as the generator makes them for November (ESTIMATE: about every five days, "
        "correlated across the basin) and berth maintenance (about one window per 50 berth-days, ESTIMATE). "
        "Handling the calls need against the open hours (closures and maintenance off) of the berths that "
        f"take their cargo, where it is 50 % or more: {_offered(p)}. Above 100 % the targets exceed the "
        "real berths in this stormy November (the Aktau hub's one container berth at 22 TEU/h, an ESTIMATE, "
        "carries about the 140,000 TEU a year published for today): those queues run on past the "
        f"month's end. {_facts(p)} {SOURCES}"
    )
    return p


def scenarios() -> dict[str, Problem]:
    return {"week.json": week(), "storm.json": storm(), "grain-rush.json": grain_rush_scenario(),
            "month.json": month_scenario()}


def week_stream(problem: Problem | None = None) -> str:
    """week-events.jsonl: the week's events (seed 2026), one JSON object a line."""
    events = week_events(problem or week(), SEED)
    header = [
        "The November week's event stream for `portsync replay instances/caspian/week.json` (see README.md).",
        f"Made by instances/caspian/make_scenarios.py: optimizer.generator.events.week_events(week, seed={SEED}).",
        "Clock every 3 h; first-call ETAs updated 24 h and 6 h ahead by N(+1 h, 2 h) truncated to [-3 h, +8 h];",
        "a storm closing Kuryk and Alat announced 12 h ahead (Alat re-announced shorter); a cancelled ferry;",
        "two late grain trains; one maintenance; one call added. Actuals come from the simulator at replay",
        "time (the vessels follow the plan in force); no handling_update (it depends on the plan).",
    ]
    return dump_event_lines(events, header)


def main() -> None:
    for name, problem in scenarios().items():
        text = json.dumps(problem.model_dump(mode="json", exclude_none=True), indent=2, ensure_ascii=False)
        (HERE / name).write_text(text + "\n", encoding="utf-8")
        print(f"{name}: {len(problem.calls)} calls, {len(problem.vessels)} vessels, "
              f"{len(problem.links)} links")
    stream = week_stream()
    (HERE / "week-events.jsonl").write_text(stream, encoding="utf-8")
    print(f"week-events.jsonl: {sum(1 for x in stream.splitlines() if x and not x.startswith('#'))} events")


if __name__ == "__main__":
    main()
