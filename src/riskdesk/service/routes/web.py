"""The web workspace at ``/``: the shell page, its static files and the bundled plotly.js.

Nothing here is part of the ``/v1`` API (the routes are left out of the OpenAPI document):
the pages are plain files that call ``/v1`` like any other client. Static files are cached by
the browser for a short while and revalidated (``ETag``), so an upgrade shows at once.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from riskdesk.web import STATIC_DIR, plotly_js_path

__all__ = ["mount_web", "router"]

router = APIRouter(include_in_schema=False)

_HTML_HEADERS = {"Cache-Control": "no-cache"}
_VENDOR_HEADERS = {"Cache-Control": "public, max-age=86400"}
_SAMPLES = Path(__file__).resolve().parents[2] / "risk" / "samples"
_SAMPLE_NAME = re.compile(r"[a-z0-9_]{1,64}")


@router.get("/")
def index() -> FileResponse:
    """The workspace's shell page."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=_HTML_HEADERS)


@router.get("/static/vendor/plotly.min.js")
def plotly_js() -> FileResponse:
    """plotly.js from the installed ``plotly`` package (no CDN)."""
    return FileResponse(plotly_js_path(), media_type="text/javascript", headers=_VENDOR_HEADERS)


@router.get("/static/samples/{name}.csv")
def sample_csv(name: str) -> FileResponse:
    """A sample file riskdesk ships (``risk/samples/<name>.csv``), e.g. the demo book."""
    path = _SAMPLES / f"{name}.csv"
    if not _SAMPLE_NAME.fullmatch(name) or not path.is_file():
        raise HTTPException(status_code=404, detail=f"no sample file {name!r}")
    return FileResponse(path, media_type="text/csv", headers=_HTML_HEADERS)


def mount_web(app: FastAPI) -> None:
    """Add the workspace's routes and its ``/static`` files to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
