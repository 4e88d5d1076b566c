"""/docs (Swagger UI) and /redoc (ReDoc) from the assets bundled under api/static/vendor: they open
on a machine without internet. No CDN, no web fonts, no external favicon, no validator badge."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter()

VENDOR = "/static/vendor"
FAVICON = f"{VENDOR}/swagger-ui/favicon-32x32.png"
#: The docs pages load their scripts from this server only; Swagger UI and ReDoc inline a little
#: script and style of their own, and ReDoc runs its search in a blob: worker.
CSP = ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; worker-src blob:; font-src 'self'; base-uri 'none'")


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


@router.get("/docs", include_in_schema=False)
def swagger_ui(request: Request) -> HTMLResponse:
    root = _root(request)
    page = get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json", title="portsync API",
        swagger_js_url=f"{root}{VENDOR}/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{VENDOR}/swagger-ui/swagger-ui.css",
        swagger_favicon_url=f"{root}{FAVICON}",
        swagger_ui_parameters={"validatorUrl": None, "displayOperationId": True, "tryItOutEnabled": False},
    )
    page.headers["Content-Security-Policy"] = CSP
    return page


@router.get("/redoc", include_in_schema=False)
def redoc(request: Request) -> HTMLResponse:
    root = _root(request)
    page = get_redoc_html(openapi_url=f"{root}/openapi.json", title="portsync API",
                          redoc_js_url=f"{root}{VENDOR}/redoc/redoc.standalone.js",
                          redoc_favicon_url=f"{root}{FAVICON}", with_google_fonts=False)
    page.headers["Content-Security-Policy"] = CSP
    return page
