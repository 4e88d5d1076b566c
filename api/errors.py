"""Every error as RFC 9457 ``application/problem+json``, with the failing fields for validation.

A client's mistake is a 4xx that names the field and the reason; only our own bugs may be a 500,
and then without internals in the body.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Route, compile_path

from optimizer.validation import InvalidProblem, Issue

log = logging.getLogger("portsync.api")

PROBLEM_JSON = "application/problem+json"

#: Tags of the request bodies' discriminated unions; pydantic puts them into error locations.
UNION_TAGS = frozenset({"bare_problem", "wrapped_problem", "full_plan", "assignment_list"})


class FieldError(BaseModel):
    """One failing field: where (path from the body, query or header root), why, and what kind."""

    loc: list[str | int] = Field(description='Path, e.g. ["body", "calls", 3, "vessel_id"].')
    field: str = Field(description="The path without its root, dotted: calls.3.vessel_id.")
    msg: str
    type: str
    call_id: str | None = Field(default=None, description="The call concerned, for whole-problem checks.")


class ProblemDetail(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(default="about:blank", description="URI reference naming the problem type.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[FieldError] = Field(default_factory=list)


class APIError(Exception):
    """Raised by routes to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        title: str | None = None,
        type_: str = "about:blank",
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ):
        self.status = status
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.type = type_
        self.errors = list(errors)
        self.headers = headers
        super().__init__(detail or self.title)


VALIDATION_TYPE = "urn:portsync:problem:validation-error"
IDEMPOTENCY_TYPE = "urn:portsync:problem:idempotency-key-reused"


def not_found(what: str, ident: str) -> APIError:
    return APIError(404, f"no {what} with id {ident!r}")


def _field(loc: Sequence[str | int]) -> str:
    rest = loc[1:] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else loc
    return ".".join(str(p) for p in rest) or "(root)"


def printable(text: str) -> str:
    """`text` with lone surrogates escaped, so an error about one can itself be written as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def field_error(loc: Sequence[str | int], msg: str, type_: str, call_id: str | None = None) -> FieldError:
    safe = [p if isinstance(p, int) else printable(p) for p in loc]
    return FieldError(loc=safe, field=_field(safe), msg=printable(msg), type=type_,
                      call_id=printable(call_id) if call_id is not None else None)


def issues_to_errors(issues: Iterable[Issue], prefix: Sequence[str | int] = ("body",)) -> list[FieldError]:
    return [field_error([*prefix, *i.loc], i.msg, i.type, i.call_id) for i in issues]


def invalid_problem(exc: InvalidProblem, prefix: Sequence[str | int] = ("body",)) -> APIError:
    errors = issues_to_errors(exc.issues, prefix)
    n = len(errors)
    return APIError(422, f"the problem has {n} issue{'s' if n != 1 else ''}: "
                    + "; ".join(f"{e.field}: {e.msg}" for e in errors[:5]) + ("; ..." if n > 5 else ""),
                    title="Invalid problem", type_=VALIDATION_TYPE, errors=errors)


def _clean_loc(loc: Sequence[Any]) -> list[str | int]:
    out: list[str | int] = [p if isinstance(p, int) else str(p) for p in loc]
    # Drop the discriminated-union tag that pydantic puts right after the root or a body field.
    return [p for i, p in enumerate(out) if not (i in (1, 2) and p in UNION_TAGS)]


def _clean_msg(msg: str) -> str:
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def validation_errors(raw: Iterable[Any]) -> list[FieldError]:
    out = []
    for e in raw:
        if e.get("type") == "json_invalid":
            reason = (e.get("ctx") or {}).get("error", "")
            pos = e.get("loc", ("body", 0))[-1]
            out.append(field_error(["body"], f"invalid JSON at character {pos}: {reason}".rstrip(": "),
                                   "json_invalid"))
            continue
        loc = _clean_loc(e.get("loc", ()))
        out.append(field_error(loc, _clean_msg(str(e.get("msg", ""))), str(e.get("type", "value_error"))))
    return out


def problem_response(
    request: Request | None,
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type_: str = "about:blank",
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ProblemDetail(
        type=type_, title=title or HTTPStatus(status).phrase, status=status,
        detail=printable(detail) if detail is not None else None,
        instance=request.url.path if request is not None else None, errors=list(errors),
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status, media_type=PROBLEM_JSON,
                        headers=headers)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, APIError)
    return problem_response(request, exc.status, title=exc.title, detail=exc.detail, type_=exc.type,
                            errors=exc.errors, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 400 and detail == "There was an error parsing the body":
        # FastAPI's answer to a body that is not even text (bad UTF-8): a bad body, so 422.
        return problem_response(request, 422, title="Invalid request", type_=VALIDATION_TYPE,
                                detail="the body is not valid JSON text (UTF-8)",
                                errors=[field_error(["body"], "not valid JSON text (UTF-8)", "json_invalid")])
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no such resource: {request.url.path}"
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        headers = {**(headers or {}), "Allow": ", ".join(allowed)}
        detail = f"{request.method} is not allowed on {request.url.path}; allowed: {', '.join(allowed)}"
    return problem_response(request, exc.status_code, detail=detail, headers=headers)


def route_table(routes: Iterable[BaseRoute]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """(path regex, methods) of each route, for the Allow header of a 405."""
    return [(compile_path(r.path)[0], frozenset(r.methods or ())) for r in routes
            if isinstance(r, Route | APIRoute)]


def allowed_methods(request: Request) -> list[str]:
    """Every method of every route whose path is the request's (Starlette names only the first)."""
    table: list[tuple[re.Pattern[str], frozenset[str]]] = getattr(request.app.state, "route_table", [])
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for regex, ms in table:
        if regex.match(path):
            methods |= ms
    return sorted(methods)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc.errors())
    n = len(errors)
    detail = f"{n} invalid field{'s' if n != 1 else ''}: " + "; ".join(
        f"{e.field}: {e.msg}" for e in errors[:5]) + ("; ..." if n > 5 else "")
    return problem_response(request, 422, title="Invalid request", detail=detail, type_=VALIDATION_TYPE,
                            errors=errors)


async def _invalid_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidProblem)
    err = invalid_problem(exc)
    return await _api_error(request, err)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(request, 500, detail="an unexpected error occurred; it has been logged")


def install(app: FastAPI) -> None:
    app.add_exception_handler(APIError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(InvalidProblem, _invalid_problem)
    app.add_exception_handler(Exception, _unexpected)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error responses (moved to application/problem+json by api.app)."""
    text = {
        400: "Malformed request",
        401: "Missing or unknown API key",
        404: "Unknown id (or another client's job)",
        409: "Not possible in the job's current state",
        413: "Request body too large",
        415: "The body is not sent as JSON (Content-Type: application/json)",
        422: "Invalid body, query or header: every failing field with its path and reason",
        503: "Not ready",
    }
    return {c: {"model": ProblemDetail, "description": text.get(c, HTTPStatus(c).phrase)} for c in codes}
