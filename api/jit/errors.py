"""The standard's own error body (`ErrorResponse`) for everything under /v2, validation included."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from http import HTTPStatus

from api.jit.schemas import DetailedError, ErrorResponse, HttpMethod
from optimizer.domain import text_fault


def escaped(text: str) -> str:
    """`text`, with a NUL or a lone surrogate (which an error body cannot hold) JSON-escaped."""
    return json.dumps(text)[1:-1] if text_fault(text) else text


class JitError(Exception):
    """Answered as an ErrorResponse: the status, and one error item per (text, message, property)."""

    def __init__(self, status: int, message: str, *, text: str | None = None, property: str | None = None,
                 errors: list[DetailedError] | None = None):
        message = escaped(message)
        property = escaped(property) if property else None
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or [DetailedError(errorCodeText=(text or HTTPStatus(status).phrase)[:100],
                                               errorCodeMessage=message[:5000],
                                               property=property[:100] if property else None)]


def error_response(method: str, uri: str, status: int, errors: list[DetailedError],
                   message: str | None = None) -> ErrorResponse:
    try:
        http_method = HttpMethod(method.upper())
    except ValueError:
        http_method = HttpMethod.GET
    return ErrorResponse(
        httpMethod=http_method, requestUri=uri, statusCode=status,
        statusCodeText=HTTPStatus(status).phrase[:50],
        statusCodeMessage=message[:200] if message else None,
        errorDateTime=datetime.now(UTC).replace(microsecond=0), errors=errors)


def unknown(what: str, property: str, ident: str, status: int = 400) -> JitError:
    return JitError(status, f"no {what} with {property} {ident}", text=f"unknown {property}"[:100],
                    property=property)
