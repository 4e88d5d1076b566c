"""Reading a user's files: the one door from bytes on disk to a Problem or a Plan.

Every command that reads a problem or plan file goes through :func:`read_json_file`, which turns
every kind of bad input into :class:`~optimizer.validation.InvalidInput` naming the file (and
the field, when there is one), never a traceback:

- a missing or unreadable file, a directory, a file above the size limit
  (:data:`DEFAULT_MAX_INPUT_BYTES`, or ``PORTSYNC_MAX_INPUT_BYTES``);
- bytes that are not UTF-8 (with the byte offset; a UTF-8 byte-order mark is accepted);
- an empty file, invalid JSON (line and column), ``NaN`` / ``Infinity`` (not JSON, refused),
  numbers too large for any field (beyond 1e18 in magnitude, such as 1e400 or a 5000-digit
  integer), text with unpaired surrogate escapes (``"\\ud800"``), nesting deeper than
  :data:`MAX_DEPTH` (100,000 nested arrays are refused, not a RecursionError);
- a JSON value of the wrong kind (a problem must be an object).

:func:`parse_json` does the same for text already in memory (API bodies, stored jobs).
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from optimizer.domain import Problem
from optimizer.plan import CallPlan, Plan
from optimizer.validation import (
    InvalidInput,
    InvalidProblem,
    Issue,
    issues_from_pydantic,
    raw_problem_issues,
    validate_problem,
)

MAX_INPUT_ENV = "PORTSYNC_MAX_INPUT_BYTES"
DEFAULT_MAX_INPUT_BYTES = 20 * 1024 * 1024
#: Deepest nesting of arrays and objects accepted; a problem needs 6 levels.
MAX_DEPTH = 64
#: Largest magnitude of a number: far beyond any time, length, quantity or objective.
MAX_NUMBER = 1e18
_MAX_INT_DIGITS = 19
_MAX_ISSUES = 100

_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _issue(msg: str, type_: str, loc: list[str | int] | None = None) -> Issue:
    return Issue(loc=loc or [], msg=msg, type=type_)


def max_input_bytes() -> int:
    """The size limit: ``PORTSYNC_MAX_INPUT_BYTES`` when set, else 20 MiB."""
    raw = os.environ.get(MAX_INPUT_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_INPUT_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise InvalidInput([_issue(f"{MAX_INPUT_ENV}={raw!r} is not a positive number of bytes",
                                   "setting_error")], source=MAX_INPUT_ENV)
    return value


def _size_text(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MiB ({n:,} bytes)"
    return f"{n:,} bytes"


def read_bytes(path: str | Path, max_bytes: int | None = None) -> bytes:
    """The file's bytes, or InvalidInput (missing, unreadable, a directory, above the limit)."""
    p = Path(path)
    limit = max_bytes if max_bytes is not None else max_input_bytes()

    def fail(msg: str) -> InvalidInput:
        return InvalidInput([_issue(msg, "file_error")], source=str(p))

    try:
        if p.is_dir():
            raise fail("is a directory, not a file")
        with p.open("rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise fail("cannot read: no such file") from None
    except IsADirectoryError:
        raise fail("is a directory, not a file") from None
    except PermissionError:
        raise fail("cannot read: permission denied") from None
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise fail(f"is larger than the input limit of {_size_text(limit)} "
                   f"(raise it with --max-input-bytes or {MAX_INPUT_ENV})")
    return data


def _line_col(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, offset - line_start + 1


def decode_text(data: bytes) -> str:
    """UTF-8 text (a leading byte-order mark dropped), or an issue naming the first bad byte."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidInput([_issue("is UTF-16 text (it starts with a UTF-16 byte-order mark); "
                                   "save it as UTF-8", "encoding_error")])
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line, col = _line_col(data, exc.start)
        raise InvalidInput([_issue(
            f"is not UTF-8 text: byte 0x{data[exc.start]:02x} at byte offset {exc.start} "
            f"(line {line}, column {col}) cannot be decoded; save the file as UTF-8",
            "encoding_error")]) from None


class _Refused:
    """A value the JSON parser read but portsync refuses; reported with its field path."""

    __slots__ = ("msg", "type")

    def __init__(self, msg: str, type_: str):
        self.msg, self.type = msg, type_


def _literal(text: str) -> str:
    digits = len(text.lstrip("-"))
    return f"{text[:12]}...({digits} digits)" if len(text) > 24 else text


def _parse_constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a JSON number (NaN and Infinity are not allowed)", "number_not_finite")


def _parse_float(text: str) -> float | _Refused:
    value = float(text)
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        return _Refused(f"number {_literal(text)} is too large (at most {MAX_NUMBER:g} in magnitude)",
                        "number_too_large")
    return value


def _parse_int(text: str) -> int | _Refused:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS or abs(value := int(text)) > MAX_NUMBER:
        return _Refused(f"number {_literal(text)} is too large (at most {MAX_NUMBER:g} in magnitude)",
                        "number_too_large")
    return value


def _refused_values(value: Any, check_strings: bool) -> list[Issue]:
    """Refused numbers, unpaired surrogates and too deep nesting, each with its path (no recursion)."""
    issues: list[Issue] = []
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack and len(issues) < _MAX_ISSUES:
        v, loc = stack.pop()
        if isinstance(v, _Refused):
            issues.append(_issue(v.msg, v.type, loc))
        elif isinstance(v, dict | list):
            if len(loc) >= MAX_DEPTH:
                issues.append(_issue(f"nested more than {MAX_DEPTH} levels deep", "too_deep", loc))
                continue
            items = v.items() if isinstance(v, dict) else enumerate(v)
            for k, item in reversed(list(items)):
                if check_strings and isinstance(k, str) and _SURROGATE.search(k):
                    issues.append(_issue("a key holds an unpaired surrogate escape (\\ud800-\\udfff); "
                                         "it is not text", "string_invalid", loc))
                stack.append((item, [*loc, k]))
        elif check_strings and isinstance(v, str) and _SURROGATE.search(v):
            issues.append(_issue("holds an unpaired surrogate escape (\\ud800-\\udfff); it is not text",
                                 "string_invalid", loc))
    issues.sort(key=lambda i: [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in i.loc])
    return issues


def parse_json(data: bytes | str) -> Any:
    """The JSON value of `data`, or InvalidInput saying what is wrong and where."""
    text = decode_text(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    if not text.strip():
        raise InvalidInput([_issue("is empty: expected a JSON object", "empty")])
    try:
        value = json.loads(text, parse_constant=_parse_constant, parse_float=_parse_float,
                           parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise InvalidInput([_issue(f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                                   "json_invalid")]) from None
    except RecursionError:
        raise InvalidInput([_issue(f"is nested more than {MAX_DEPTH} levels deep", "too_deep")]) from None
    issues = _refused_values(value, check_strings=_SURROGATE_ESCAPE.search(text) is not None)
    if issues:
        raise InvalidInput(issues)
    return value


_KIND = {dict: "an object", list: "an array", str: "a string", bool: "true or false", type(None): "null",
         int: "a number", float: "a number"}


def expect_kind(value: Any, kinds: tuple[type, ...], what: str) -> None:
    if not isinstance(value, kinds):
        want = " or ".join(_KIND[k] for k in kinds)
        raise InvalidInput([_issue(f"holds {_KIND.get(type(value), 'a value')}, but {what} is {want}",
                                   "type_error")])


def read_json_file(path: str | Path, kinds: tuple[type, ...] = (dict,), what: str = "a problem",
                   max_bytes: int | None = None) -> Any:
    """The JSON value in the file at `path`, of one of `kinds`; InvalidInput naming the file."""
    try:
        value = parse_json(read_bytes(path, max_bytes))
        expect_kind(value, kinds, what)
    except InvalidInput as exc:
        raise exc.with_source(str(path)) from None
    return value


def load_problem(data: str | bytes | dict[str, Any] | Path) -> Problem:
    """Parse and fully validate a problem from JSON text, a dict or a file path.

    Text and files are read here (encoding, JSON, size and depth checks); the checks of the
    problem itself are optimizer.validation's.
    """
    if isinstance(data, Path):
        return load_problem_file(data)
    if isinstance(data, str | bytes):
        try:
            data = parse_json(data)
            expect_kind(data, (dict,), "a problem (a JSON object)")
        except InvalidInput as exc:
            raise InvalidProblem(exc.issues) from None
    try:
        problem = Problem.model_validate(data)
    except ValidationError as exc:
        issues = issues_from_pydantic(exc)
        if isinstance(data, dict):
            seen = {(i.path, i.msg) for i in issues}
            issues += [i for i in raw_problem_issues(data) if (i.path, i.msg) not in seen]
        raise InvalidProblem(issues) from exc
    issues = validate_problem(problem)
    if issues:
        raise InvalidProblem(issues)
    return problem


def load_problem_file(path: str | Path, max_bytes: int | None = None) -> Problem:
    """A fully validated problem from a JSON file; InvalidProblem (with the file name) lists every issue."""
    try:
        data = read_json_file(path, (dict,), "a problem (a JSON object)", max_bytes)
        return load_problem(data)
    except InvalidProblem as exc:
        raise exc.with_source(str(path)) from None
    except InvalidInput as exc:
        raise InvalidProblem(exc.issues, source=str(path)) from None


_PLAN_FILE: TypeAdapter[Plan | list[CallPlan]] = TypeAdapter(Plan | list[CallPlan])


def load_plan_file(path: str | Path, max_bytes: int | None = None) -> Plan:
    """A plan file: a Plan as `portsync solve --out` writes it, or a bare list of assignments."""
    data = read_json_file(path, (dict, list), "a plan (a JSON object or an array of assignments)", max_bytes)
    try:
        plan = _PLAN_FILE.validate_python(data)
    except ValidationError as exc:
        raise InvalidInput(issues_from_pydantic(exc), source=str(path)) from None
    return plan if isinstance(plan, Plan) else Plan(calls=plan)
