"""Every command that reads files refuses every kind of bad file with exit 2, a message naming the
file (and the field, when there is one), and never a traceback."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from optimizer.cli import app
from optimizer.loading import MAX_INPUT_ENV
from tests.test_cli import write_problem

runner = CliRunner()

#: Makes a bad file (or a path that is not a file) in a folder.
Maker = Callable[[Path], Path]


def _write(content: bytes) -> Maker:
    def make(d: Path) -> Path:
        p = d / "bad input.json"
        p.write_bytes(content)
        return p
    return make


def _missing(d: Path) -> Path:
    return d / "no-such-file.json"


def _directory(d: Path) -> Path:
    p = d / "a-directory.json"
    p.mkdir(exist_ok=True)
    return p


#: kind of bad file -> (its maker, words the message must contain)
GARBAGE: dict[str, tuple[Maker, str]] = {
    "latin1": (_write('{"name": "Baký"}'.encode("latin-1")), "byte offset 13"),
    "random-bytes": (_write(random.Random(8).randbytes(4096)), "not UTF-8"),
    "utf16": (_write('{"name": "x"}'.encode("utf-16")), "UTF-16"),
    "empty": (_write(b""), "empty"),
    "blank": (_write(b" \n\t\n"), "empty"),
    "invalid-json": (_write(b'{"ports": [1, 2,,]}'), "Expecting value at line 1, column 17"),
    "truncated": (_write(b'{"ports": [\n  {"id": "KZAAU"'), "line 2"),
    "nan": (_write(b'{"ports": [{"length_m": NaN}]}'), "ports.0.length_m: NaN is not a JSON number"),
    "infinity": (_write(b'{"x": -Infinity}'), "x: -Infinity is not a JSON number"),
    "huge-float": (_write(b'{"calls": [{"weight": 1e400}]}'), "calls.0.weight: number 1e400 is too large"),
    "huge-int": (_write(b'{"weight": ' + b"9" * 5000 + b"}"), "5000 digits"),
    "deep-nesting": (_write(b"[" * 100_000 + b"]" * 100_000), "nested more than"),
    "surrogate": (_write(b'{"name": "\\ud800"}'), "name: holds an unpaired surrogate"),
    "array": (_write(b"[1, 2, 3]"), "holds an array"),
    "string": (_write(b'"a problem"'), "holds a string"),
    "number": (_write(b"42"), "holds a number"),
    "null": (_write(b"null"), "holds null"),
    "missing": (_missing, "no such file"),
    "directory": (_directory, "is a directory"),
}


def assert_refused(result: Result, path: Path, words: str) -> None:
    output = result.output
    assert result.exit_code == 2, output
    assert isinstance(result.exception, SystemExit), result.exception  # no uncaught error
    assert "Traceback" not in output
    assert str(path) in result.stderr, result.stderr
    assert words in result.stderr, result.stderr


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A good problem and its FCFS plan."""
    d = tmp_path_factory.mktemp("good")
    problem, plan = write_problem(d), d / "plan.json"
    result = runner.invoke(app, ["baseline", str(problem), "--out", str(plan)])
    assert result.exit_code == 0, result.output
    return problem, plan


def commands(problem: Path, plan: Path, bad: Path) -> dict[str, list[str]]:
    return {
        "solve": ["solve", str(bad), "--time-limit", "1"],
        "baseline": ["baseline", str(bad)],
        "check-problem": ["check", str(bad), str(plan)],
        "check-plan": ["check", str(problem), str(bad)],
    }


COMMANDS = ["solve", "baseline", "check-problem", "check-plan"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_garbage_file_is_refused(kind: str, command: str, good: tuple[Path, Path], tmp_path: Path) -> None:
    make, words = GARBAGE[kind]
    if command == "check-plan" and kind == "array":
        pytest.skip("a bare array of assignments is a plan file")
    bad = make(tmp_path)
    result = runner.invoke(app, commands(*good, bad)[command])
    assert_refused(result, bad, words)


def test_plan_file_of_the_wrong_kind_says_what_a_plan_is(good: tuple[Path, Path], tmp_path: Path) -> None:
    bad = _write(b"42")(tmp_path)
    result = runner.invoke(app, commands(*good, bad)["check-plan"])
    assert_refused(result, bad, "a plan (a JSON object or an array of assignments)")


def test_plan_file_with_bad_fields_names_them(good: tuple[Path, Path], tmp_path: Path) -> None:
    bad = _write(json.dumps([{"call_id": "a1", "berth_id": "K1", "arrival": "soon"}]).encode())(tmp_path)
    result = runner.invoke(app, commands(*good, bad)["check-plan"])
    assert_refused(result, bad, "arrival")


@pytest.mark.parametrize("how", ["env", "option"])
@pytest.mark.parametrize("command", COMMANDS)
def test_size_limit(how: str, command: str, good: tuple[Path, Path], tmp_path: Path) -> None:
    problem, plan = good
    bad = problem if command != "check-plan" else plan
    limit = bad.stat().st_size - 1
    args = commands(problem, plan, bad)[command]
    if how == "env":
        result = runner.invoke(app, args, env={MAX_INPUT_ENV: str(limit)})
    else:
        result = runner.invoke(app, ["--max-input-bytes", str(limit), *args])
    assert_refused(result, bad, f"larger than the input limit of {limit:,} bytes")
    # one byte more and it is read
    fits = runner.invoke(app, ["--max-input-bytes", str(limit + 1), "baseline", str(problem)])
    assert fits.exit_code == 0, fits.output


def test_default_size_limit_is_20_mib(tmp_path: Path) -> None:
    bad = tmp_path / "big.json"
    bad.write_bytes(b'{"name": "' + b"x" * (20 * 1024 * 1024) + b'"}')
    assert_refused(runner.invoke(app, ["baseline", str(bad)]), bad, "limit of 20 MiB")


def test_a_bad_size_limit_setting_is_a_usage_error(good: tuple[Path, Path]) -> None:
    result = runner.invoke(app, ["baseline", str(good[0])], env={MAX_INPUT_ENV: "lots"})
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_ten_megabytes_of_random_bytes_through_the_real_command(
    good: tuple[Path, Path], tmp_path: Path
) -> None:
    bad = tmp_path / "noise.json"
    bad.write_bytes(random.Random(10).randbytes(10 * 1024 * 1024))
    problem, plan = good
    portsync = Path(sys.executable).parent / "portsync"
    for args in (["solve", str(bad), "-t", "1"], ["baseline", str(bad)], ["check", str(bad), str(plan)],
                 ["check", str(problem), str(bad)]):
        proc = subprocess.run([str(portsync), *args], capture_output=True, text=True, timeout=120,
                              env={k: v for k, v in os.environ.items() if k != MAX_INPUT_ENV})
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr + proc.stdout
        assert str(bad) in proc.stderr and "not UTF-8" in proc.stderr


@settings(derandomize=True, max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=2000)
       | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))
       | st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
                      lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                                                max_size=4),
                      max_leaves=20).map(lambda v: json.dumps(v).encode()))
def test_random_bytes_are_refused_cleanly(content: bytes, good: tuple[Path, Path], tmp_path: Path) -> None:
    bad = tmp_path / "random.json"
    bad.write_bytes(content)
    problem, plan = good
    for args in (["baseline", str(bad)], ["check", str(bad), str(plan)], ["check", str(problem), str(bad)]):
        result = runner.invoke(app, args)
        if args[-1] == str(bad) and result.exit_code == 1:  # e.g. "[]": a plan, missing every call
            assert "Traceback" not in result.output
            continue
        assert result.exit_code == 2, (content[:200], result.output)
        assert isinstance(result.exception, SystemExit), (content[:200], result.exception)
        assert str(bad) in result.stderr
