"""The web workspace: static pages and ES modules served by ``riskdesk serve`` at ``/``.

Everything ships with the package (no CDN, no Node toolchain): ``static/index.html`` is the
shell, ``static/js`` holds plain ES modules (one per page plus the shared ``api``, ``ws``,
``ui`` and ``charts`` helpers), ``static/css/app.css`` the light and dark themes. Charts use
plotly.js from the installed ``plotly`` Python package (served at
``/static/vendor/plotly.min.js``, loaded only by the pages that draw). The pages talk only to
the service's public ``/v1`` API and WebSockets, like any other client.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["STATIC_DIR", "plotly_js_path"]

STATIC_DIR = Path(__file__).parent / "static"
"""The workspace's static files."""


def plotly_js_path() -> Path:
    """The ``plotly.min.js`` bundled with the installed ``plotly`` package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():  # pragma: no cover - every plotly wheel ships it
        raise FileNotFoundError(f"plotly.min.js is missing from the plotly package at {path}")
    return path
