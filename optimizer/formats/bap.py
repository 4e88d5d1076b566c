"""Readers for the standard discrete berth-allocation (DBAP) benchmark files.

Two formats exist (see each folder's SOURCE.md under ``shared/benchmarks/bap``):

* **Cordeau et al. (2005)**, set I3: first line ``N M``; then an M x N *berth-major* handling matrix
  (0 = ship may not use the berth); M lines ``open close``; N arrivals; N deadlines. No weights.
* **Kramer et al. (2019)** and the Lalla-Ruiz files: ``N`` on its own line, ``M`` on the next; N
  arrivals; M berth openings; an N x M *vessel-major* matrix (>= 99999 = forbidden); M closings;
  N deadlines; optionally N weights. Some Lalla-Ruiz files carry extra padding tokens on the last two
  lines, so the file is read as a token stream, never line by line.

Both become a :class:`BapInstance`, whose :meth:`BapInstance.to_problem` makes an ordinary
single-port :class:`~optimizer.domain.Problem`, so the benchmarks are solved by the same model and
judged by the same checker as any Caspian scenario. One file time unit is one hour from
:data:`HORIZON_START`, and the problem's ``time_step_minutes`` is 60, so the model works in the
file's own units.

The instances' own objective is the weighted total service time ``sum_i w_i (c_i - a_i)``
(completion minus arrival: waiting plus handling); :func:`bap_objective` computes it for any plan.

Window conventions (the files say "[open, close]"): a ship may start at ``open`` and must have left
by ``close`` (end <= close), as in the Cordeau course checker; it must also have left by its own
deadline (end <= deadline), as in FelixKahle/cpsat_dbap.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from optimizer.domain import Problem
from optimizer.loading import load_problem
from optimizer.plan import CallAssignment, Plan

HORIZON_START = datetime(2026, 1, 1, tzinfo=UTC)
"""File time 0. File times are hours from here."""

KRAMER_FORBIDDEN = 99999
"""Handling times at or above this mark a berth the vessel may not use (Kramer / Lalla-Ruiz)."""

PORT_ID = "BAP"
VESSEL_LENGTH_M = 100.0
VESSEL_DRAFT_M = 5.0
BERTH_LENGTH_M = 400.0
BERTH_DRAFT_M = 20.0

BapFormat = Literal["cordeau", "kramer"]


class BapFormatError(ValueError):
    """A benchmark file that cannot be read; the message names the file and what is wrong."""


@dataclass
class BapInstance:
    """One DBAP instance in the file's own units (integers, vessel-major)."""

    name: str
    format: BapFormat
    arrivals: list[int]
    handling: list[list[int | None]]
    """handling[vessel][berth] in file units; None = the vessel may not use the berth."""
    berth_open: list[int]
    berth_close: list[int]
    deadlines: list[int]
    weights: list[int]
    has_weights: bool = False
    """True when the file gave weights; otherwise every weight is 1."""
    ignored_tokens: int = 0
    """Padding tokens after the data that were not read (some Lalla-Ruiz files)."""
    source: str = ""
    """The file it was read from."""

    def __post_init__(self) -> None:
        n, m = self.n_vessels, self.n_berths
        where = self.source or self.name
        for label, values, size in (("arrivals", self.arrivals, n), ("deadlines", self.deadlines, n),
                                    ("weights", self.weights, n), ("berth_open", self.berth_open, m),
                                    ("berth_close", self.berth_close, m)):
            if len(values) != size:
                raise BapFormatError(f"{where}: {label} has {len(values)} values, expected {size}")
        for i, row in enumerate(self.handling):
            if len(row) != m:
                raise BapFormatError(f"{where}: handling row of vessel {i + 1} has {len(row)} values, "
                                     f"expected {m}")
            if all(h is None for h in row):
                raise BapFormatError(f"{where}: vessel {i + 1} may use no berth")
            for k, h in enumerate(row):
                if h is not None and h <= 0:
                    raise BapFormatError(f"{where}: handling time of vessel {i + 1} at berth {k + 1} "
                                         f"is {h}; it must be positive")
        for i, w in enumerate(self.weights):
            if w < 1:
                raise BapFormatError(f"{where}: weight of vessel {i + 1} is {w}; it must be at least 1")
        for i, a in enumerate(self.arrivals):
            if a < 0:
                raise BapFormatError(f"{where}: arrival of vessel {i + 1} is {a}; it must not be negative")

    @property
    def n_vessels(self) -> int:
        return len(self.arrivals)

    @property
    def n_berths(self) -> int:
        return len(self.berth_open)

    @staticmethod
    def call_id(i: int) -> str:
        """Call id of vessel index i (0-based); the ids count from 1 as the files do."""
        return f"C{i + 1}"

    @staticmethod
    def vessel_id(i: int) -> str:
        return f"V{i + 1}"

    @staticmethod
    def berth_id(k: int) -> str:
        return f"B{k + 1}"

    def forbidden_pairs(self) -> list[tuple[int, int]]:
        """(vessel, berth) index pairs, 0-based, that the file forbids."""
        return [(i, k) for i, row in enumerate(self.handling) for k, h in enumerate(row) if h is None]

    def horizon_units(self) -> int:
        """A time no plan can reach: every deadline, closing and arrival lies before it."""
        longest = max((h for row in self.handling for h in row if h is not None), default=0)
        return max([*self.deadlines, *self.berth_close, *(a + longest for a in self.arrivals)]) + 1

    def to_problem(self) -> Problem:
        """The instance as an ordinary single-port problem, validated by ``load_problem``.

        Berth windows become ``unavailable`` windows [horizon start, open) and [close, horizon
        end); every call must leave by its deadline, which is at most the horizon end, so the
        second window is as good as one reaching into the far future.
        """
        end_units = self.horizon_units()

        def at(units: int) -> str:
            return (HORIZON_START + timedelta(hours=units)).isoformat()

        berths: list[dict[str, Any]] = []
        for k in range(self.n_berths):
            unavailable = []
            if self.berth_open[k] > 0:
                unavailable.append({"start": at(0), "end": at(self.berth_open[k]), "reason": "berth opens"})
            if self.berth_close[k] < end_units:
                unavailable.append({"start": at(max(0, self.berth_close[k])), "end": at(end_units),
                                    "reason": "berth closes"})
            berths.append({"id": self.berth_id(k), "name": f"berth {k + 1}", "length_m": BERTH_LENGTH_M,
                           "max_draft_m": BERTH_DRAFT_M, "cargo_kinds": ["general"],
                           "unavailable": unavailable})
        vessels: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        voyages: list[dict[str, Any]] = []
        for i in range(self.n_vessels):
            allowed = [k for k, h in enumerate(self.handling[i]) if h is not None]
            vessels.append({"id": self.vessel_id(i), "name": f"ship {i + 1}", "length_m": VESSEL_LENGTH_M,
                            "draft_m": VESSEL_DRAFT_M})
            calls.append({
                "id": self.call_id(i), "vessel_id": self.vessel_id(i), "port_id": PORT_ID, "cargo": "general",
                "handling": {"hours_by_berth": {self.berth_id(k): float(self.handling[i][k] or 0)
                                                for k in allowed}},
                "allowed_berths": [self.berth_id(k) for k in allowed],
                "latest_departure": at(self.deadlines[i]),
                "weight": self.weights[i],
            })
            voyages.append({"vessel_id": self.vessel_id(i), "eta": at(self.arrivals[i]),
                            "call_ids": [self.call_id(i)]})
        return load_problem({
            "name": self.name,
            "description": f"DBAP benchmark {self.name} ({self.format} format, {self.n_vessels} ships x "
                           f"{self.n_berths} berths); 1 time unit = 1 hour from {HORIZON_START.isoformat()}",
            "horizon_start": at(0),
            "horizon_end": at(end_units),
            "time_step_minutes": 60,
            "ports": [{"id": PORT_ID, "name": "DBAP benchmark port", "timezone": "UTC", "berths": berths}],
            "vessels": vessels,
            "calls": calls,
            "voyages": voyages,
        })


# -- token stream ------------------------------------------------------------------------------


@dataclass
class _Tokens:
    path: Path
    values: list[int]
    per_line: list[int]  # token count of each non-empty line, in order

    def take(self, pos: int, count: int, what: str) -> list[int]:
        if pos + count > len(self.values):
            raise BapFormatError(f"{self.path}: file ends early while reading {what}: needs {count} values "
                                 f"from token {pos + 1}, the file has {len(self.values)} tokens")
        return self.values[pos:pos + count]


def _read_tokens(path: str | Path) -> _Tokens:
    p = Path(path)
    try:
        text = p.read_bytes().decode("latin-1")
    except OSError as exc:
        raise BapFormatError(f"{p}: cannot read: {exc.strerror}") from exc
    values: list[int] = []
    per_line: list[int] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        for part in parts:
            try:
                values.append(int(part))
            except ValueError:
                raise BapFormatError(f"{p}: line {line_no}: {part[:20]!r} is not an integer; a DBAP "
                                     "benchmark file holds only integers") from None
        per_line.append(len(parts))
    if len(values) < 2:
        raise BapFormatError(f"{p}: too short for a DBAP file ({len(values)} integers)")
    return _Tokens(p, values, per_line)


def _sizes(tok: _Tokens) -> tuple[int, int]:
    n, m = tok.values[0], tok.values[1]
    if n < 1 or m < 1:
        raise BapFormatError(f"{tok.path}: the file starts with N={n} ships and M={m} berths; both must be "
                             "at least 1")
    return n, m


def _cordeau_count(n: int, m: int) -> int:
    return 2 + m * n + 2 * m + 2 * n


def _kramer_min_count(n: int, m: int) -> int:
    return 2 + n + m + n * m + m + n


def detect_format(path: str | Path) -> BapFormat:
    """Cordeau or Kramer, from the file's shape and token count.

    The exact Cordeau count equals the Kramer count without weights, so counts alone cannot tell
    them apart: the first line decides ("N M" is Cordeau; "N" alone, then "M", is Kramer). A file
    written all on one line is decided by its matrix (zeros mean Cordeau, 99999 means Kramer).
    """
    tok = _read_tokens(path)
    n, m = _sizes(tok)
    count = len(tok.values)
    cordeau = count == _cordeau_count(n, m)
    kramer = count >= _kramer_min_count(n, m)
    if not cordeau and not kramer:
        raise BapFormatError(
            f"{tok.path}: neither DBAP format fits: with N={n} ships and M={m} berths a Cordeau file has "
            f"exactly {_cordeau_count(n, m)} integers and a Kramer file at least {_kramer_min_count(n, m)}, "
            f"this one has {count}")
    if cordeau != kramer:
        return "cordeau" if cordeau else "kramer"
    if tok.per_line[0] == 2:
        return "cordeau"
    if tok.per_line[0] == 1 and len(tok.per_line) > 1 and tok.per_line[1] == 1:
        return "kramer"
    cordeau_matrix = tok.values[2:2 + m * n]
    if 0 in cordeau_matrix:
        return "cordeau"
    start = 2 + n + m
    if any(v >= KRAMER_FORBIDDEN for v in tok.values[start:start + n * m]):
        return "kramer"
    raise BapFormatError(f"{tok.path}: cannot tell Cordeau from Kramer format: the first line is neither "
                         "'N M' nor 'N' alone, and the matrix has no forbidden marker")


def _name(path: Path) -> str:
    return path.stem


def read_cordeau(path: str | Path) -> BapInstance:
    """A Cordeau et al. (2005) I3 file (berth-major matrix, 0 = forbidden, no weights)."""
    tok = _read_tokens(path)
    n, m = _sizes(tok)
    expected = _cordeau_count(n, m)
    if len(tok.values) != expected:
        raise BapFormatError(f"{tok.path}: a Cordeau file with N={n} ships and M={m} berths has "
                             f"{expected} integers (N M, M x N handling, M windows, N arrivals, "
                             f"N deadlines); this one has {len(tok.values)}")
    pos = 2
    by_berth = [tok.take(pos + k * n, n, f"handling row of berth {k + 1}") for k in range(m)]
    pos += m * n
    windows = tok.take(pos, 2 * m, "berth windows")
    pos += 2 * m
    arrivals = tok.take(pos, n, "arrivals")
    deadlines = tok.take(pos + n, n, "deadlines")
    for k in range(m):
        for i in range(n):
            if by_berth[k][i] < 0:
                raise BapFormatError(f"{tok.path}: handling time of ship {i + 1} at berth {k + 1} is "
                                     f"{by_berth[k][i]}; it must not be negative (0 = forbidden)")
    handling: list[list[int | None]] = [[by_berth[k][i] or None for k in range(m)] for i in range(n)]
    return BapInstance(
        name=_name(tok.path), format="cordeau", arrivals=arrivals, handling=handling,
        berth_open=windows[0::2], berth_close=windows[1::2], deadlines=deadlines, weights=[1] * n,
        has_weights=False, source=str(tok.path))


def read_kramer(path: str | Path) -> BapInstance:
    """A Kramer et al. (2019) or Lalla-Ruiz file (vessel-major, >= 99999 = forbidden).

    Read as a token stream. After the N deadlines, exactly N further integers are the vessel
    weights; any other number of leftover tokens is padding (some Lalla-Ruiz files repeat ``600``)
    and is ignored, with the count kept in ``ignored_tokens``.
    """
    tok = _read_tokens(path)
    n, m = _sizes(tok)
    pos = 2
    arrivals = tok.take(pos, n, "arrivals")
    pos += n
    opens = tok.take(pos, m, "berth opening times")
    pos += m
    handling: list[list[int | None]] = []
    for i in range(n):
        row = tok.take(pos, m, f"handling row of vessel {i + 1}")
        pos += m
        for k, h in enumerate(row):
            if h < 0:
                raise BapFormatError(f"{tok.path}: handling time of vessel {i + 1} at berth {k + 1} is {h}; "
                                     "it must not be negative")
        handling.append([None if h >= KRAMER_FORBIDDEN else h for h in row])
    closes = tok.take(pos, m, "berth closing times")
    pos += m
    deadlines = tok.take(pos, n, "vessel deadlines")
    pos += n
    rest = tok.values[pos:]
    has_weights = len(rest) == n
    return BapInstance(
        name=_name(tok.path), format="kramer", arrivals=arrivals, handling=handling, berth_open=opens,
        berth_close=closes, deadlines=deadlines, weights=list(rest) if has_weights else [1] * n,
        has_weights=has_weights, ignored_tokens=0 if has_weights else len(rest), source=str(tok.path))


def read_bap(path: str | Path) -> BapInstance:
    """Either format, detected by :func:`detect_format`."""
    return read_cordeau(path) if detect_format(path) == "cordeau" else read_kramer(path)


# -- solutions and the instances' own objective ------------------------------------------------


def _units(t: datetime) -> float:
    return (t - HORIZON_START).total_seconds() / 3600.0


def bap_objective(instance: BapInstance, plan_assignments: Plan | Sequence[CallAssignment]) -> float:
    """sum_i w_i (completion_i - arrival_i) in file units, the instances' own objective.

    Every ship must be in the plan: a partial plan has no value in this objective.
    """
    assignments: Sequence[CallAssignment] = (
        plan_assignments.calls if isinstance(plan_assignments, Plan) else plan_assignments)
    ends = {a.call_id: a.berth_end for a in assignments}
    missing = [instance.call_id(i) for i in range(instance.n_vessels) if instance.call_id(i) not in ends]
    if missing:
        raise ValueError(f"plan for {instance.name} misses {len(missing)} of {instance.n_vessels} calls: "
                         + ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else ""))
    return float(sum(instance.weights[i] * (_units(ends[instance.call_id(i)]) - instance.arrivals[i])
                     for i in range(instance.n_vessels)))


_BERTH_LINE = re.compile(r"^\s*Ber\S*\s+(\d+)\s*:")
_SHIP_LINE = re.compile(r"Navio\s+(\d+)\s*:\s*HA\s*:\s*(-?\d+)\s*HD\s*:\s*(-?\d+)")


def read_cordeau_solution(path: str | Path, instance: BapInstance) -> list[CallAssignment]:
    """A schedule printed by the Cordeau course checker (``sol-i01.txt``) as our assignments.

    The file lists, under ``Berço k:``, lines ``Navio i: HA: start HD: end`` (berthing and
    departure). Each ship arrives at its arrival time from the instance. Ships missing from the file
    are missing from the result, so the checker reports them.
    """
    p = Path(path)
    try:
        text = p.read_bytes().decode("latin-1")
    except OSError as exc:
        raise BapFormatError(f"{p}: cannot read: {exc.strerror}") from exc
    berth: int | None = None
    found: dict[int, CallAssignment] = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        head = _BERTH_LINE.match(line)
        if head:
            berth = int(head.group(1))
            if not 1 <= berth <= instance.n_berths:
                raise BapFormatError(f"{p}: line {line_no}: berth {berth} is not in 1..{instance.n_berths}")
            continue
        ship_line = _SHIP_LINE.search(line)
        if not ship_line:
            continue
        ship, start, end = (int(g) for g in ship_line.groups())
        if berth is None:
            raise BapFormatError(f"{p}: line {line_no}: ship {ship} is listed before any berth heading")
        if not 1 <= ship <= instance.n_vessels:
            raise BapFormatError(f"{p}: line {line_no}: ship {ship} is not in 1..{instance.n_vessels}")
        if ship in found:
            raise BapFormatError(f"{p}: line {line_no}: ship {ship} is scheduled twice")
        i = ship - 1
        found[ship] = CallAssignment(
            call_id=instance.call_id(i), berth_id=instance.berth_id(berth - 1),
            arrival=HORIZON_START + timedelta(hours=instance.arrivals[i]),
            berth_start=HORIZON_START + timedelta(hours=start),
            berth_end=HORIZON_START + timedelta(hours=end))
    if not found:
        raise BapFormatError(f"{p}: no schedule lines ('Navio i: HA: t HD: t') found")
    return [found[s] for s in sorted(found)]
