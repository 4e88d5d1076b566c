"""JSON request bodies, read before FastAPI validates them: the media type (415), the text (UTF-8),
the JSON itself (no NaN or Infinity, numbers a float can hold, bounded nesting), a JSON object at the
top, and no string that could not be stored or written back (NUL, lone surrogates).

Every refusal is a problem+json naming what is wrong; the parsed body is handed on to FastAPI, so
it is parsed once.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute

from api.errors import VALIDATION_TYPE, APIError, field_error
from optimizer.domain import text_fault

#: Deepest nesting of arrays and objects accepted (a problem needs 6).
MAX_DEPTH = 32
#: Longest number literal accepted, in characters.
MAX_NUMBER_CHARS = 100
#: Bodies larger than this are parsed in a worker thread, not in the event loop.
THREAD_PARSE_BYTES = 256_000
ACCEPTED = "application/json, application/*+json"
#: A JSON escape that may decode to NUL or to half of a surrogate pair: only then are strings walked.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


class BodyFault(ValueError):
    """The body is not JSON this API takes; `loc` is the path inside the body."""

    def __init__(self, msg: str, type_: str, loc: tuple[str | int, ...] = ()):
        super().__init__(msg)
        self.msg = msg
        self.type = type_
        self.loc = loc


def _refuse(msg: str, type_: str, loc: tuple[str | int, ...] = ()) -> APIError:
    err = field_error(("body", *loc), msg, type_)
    return APIError(422, f"{err.field}: {msg}" if loc else msg, title="Invalid request body",
                    type_=VALIDATION_TYPE, errors=[err])


def media_type_fault(content_type: str | None) -> str | None:
    """Why a body with this Content-Type is not taken, or None for UTF-8 JSON."""
    if not content_type:
        return "the request has a body but no Content-Type; send it as application/json"
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    kind, _, sub = media.partition("/")
    if kind != "application" or not (sub == "json" or sub.endswith("+json")):
        return f"the body must be JSON, sent with Content-Type: application/json (not {media[:100] or '?'})"
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return (f"JSON bodies must be UTF-8: send Content-Type: application/json (not "
                    f"charset={value.strip()[:40]})")
    return None


class _BadNumber:
    """Stands for a number the body may not hold, until the walk finds where it is."""

    def __init__(self, msg: str):
        self.msg = msg


def _constant(name: str) -> Any:
    return _BadNumber(f"{name} is not a JSON number; send a finite number (or leave the field out)")


def _parse_float(text: str) -> float | _BadNumber:
    if len(text) > MAX_NUMBER_CHARS:
        return _BadNumber(f"a number of {len(text)} characters is too long (at most {MAX_NUMBER_CHARS})")
    value = float(text)
    if not math.isfinite(value):
        return _BadNumber(f"the number {text} is too large")
    return value


def _parse_int(text: str) -> int | _BadNumber:
    if len(text) > MAX_NUMBER_CHARS:
        return _BadNumber(f"an integer of {len(text)} digits is too large (at most {MAX_NUMBER_CHARS})")
    return int(text)


def _walk(value: Any, check_text: bool) -> None:
    """Nesting depth, numbers, and (when asked) every key and string, without recursion."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            if len(path) >= MAX_DEPTH:
                raise BodyFault(f"nested deeper than {MAX_DEPTH} levels", "json_depth", path[:MAX_DEPTH])
            for k, v in node.items():
                if check_text and (fault := text_fault(k)):
                    raise BodyFault(f"a key {fault}", "string_unsafe", path)
                stack.append((v, (*path, k)))
        elif isinstance(node, list):
            if len(path) >= MAX_DEPTH:
                raise BodyFault(f"nested deeper than {MAX_DEPTH} levels", "json_depth", path[:MAX_DEPTH])
            stack.extend((v, (*path, i)) for i, v in enumerate(node))
        elif isinstance(node, _BadNumber):
            raise BodyFault(node.msg, "json_number", path)
        elif check_text and isinstance(node, str) and (fault := text_fault(node)):
            raise BodyFault(fault, "string_unsafe", path)


def parse_json_body(raw: bytes, allow_array: bool = False) -> Any:
    """The body as JSON, or BodyFault saying what is wrong with it."""
    if not raw.strip():
        raise BodyFault("the request body is empty; send the problem as a JSON object", "json_empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyFault(f"the body is not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start}",
                        "json_invalid") from None
    text = text.removeprefix("\ufeff")
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_parse_float,
                           parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise BodyFault(f"invalid JSON at line {exc.lineno} column {exc.colno} (character {exc.pos}): "
                        f"{exc.msg}", "json_invalid") from None
    except RecursionError:
        raise BodyFault(f"nested deeper than {MAX_DEPTH} levels", "json_depth") from None
    _walk(value, check_text=_SUSPECT_ESCAPE.search(text) is not None)
    if not isinstance(value, dict) and not (allow_array and isinstance(value, list)):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(value), "a number")
        raise BodyFault(f"the body must be a JSON object, not {kind}", "object_type")
    return value


async def read_json_body(request: Request, allow_array: bool = False) -> None:
    """Check and parse the body; FastAPI then takes the parsed value (Request.json is cached)."""
    raw = await request.body()
    if not raw.strip():
        raise _refuse("the request body is empty; send the problem as a JSON object", "json_empty")
    fault = media_type_fault(request.headers.get("content-type"))
    if fault is not None:
        raise APIError(415, fault, errors=[field_error(("header", "Content-Type"), fault,
                                                       "unsupported_media_type")],
                       headers={"Accept": ACCEPTED, "Accept-Post": ACCEPTED})
    try:
        if len(raw) > THREAD_PARSE_BYTES:
            value = await run_in_threadpool(parse_json_body, raw, allow_array)
        else:
            value = parse_json_body(raw, allow_array)
    except BodyFault as exc:
        raise _refuse(exc.msg, exc.type, exc.loc) from None
    request._json = value


class JSONBodyRoute(APIRoute):
    """A route whose JSON body is read by :func:`read_json_body` before FastAPI validates it."""

    allow_array = False  # a JSON array at the top (a list of events) is taken too

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def route(request: Request) -> Response:
            await read_json_body(request, self.allow_array)
            return await handler(request)

        return route


class JSONListBodyRoute(JSONBodyRoute):
    """As JSONBodyRoute, for bodies that may be one object or an array of them."""

    allow_array = True
