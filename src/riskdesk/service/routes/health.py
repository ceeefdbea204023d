"""``/v1/health`` (the process answers) and ``/v1/ready`` (database reachable and migrated)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text

from riskdesk import __version__
from riskdesk.service.deps import State
from riskdesk.store.migrate import current_revision, head_revision
from riskdesk.store.types import utc_now

__all__ = ["router"]

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Liveness: the process is up."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "ok", "version": "0.1.0", "time": "2026-11-30T19:00:00.000000Z"}
            ]
        }
    )

    status: str
    version: str
    time: datetime


class Readiness(BaseModel):
    """Readiness: the database answers and its schema is at the code's migration head."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "database": "ok",
                    "backend": "sqlite",
                    "schema_revision": "0007",
                    "expected_revision": "0007",
                    "detail": None,
                }
            ]
        }
    )

    status: str
    database: str
    backend: str
    schema_revision: str | None
    expected_revision: str
    detail: str | None = None


@router.get("/v1/health", response_model=Health)
async def health() -> Health:
    """The service process is alive."""
    return Health(status="ok", version=__version__, time=utc_now())


@router.get(
    "/v1/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready"}},
)
def ready(state: State) -> JSONResponse:
    """The database is reachable and migrated to the head revision (else 503)."""
    engine = state.db.engine
    expected = head_revision()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            revision = current_revision(conn)
    except Exception as exc:  # any failure to reach the database means "not ready"
        body = Readiness(
            status="not_ready",
            database="unreachable",
            backend=engine.dialect.name,
            schema_revision=None,
            expected_revision=expected,
            detail=type(exc).__name__,
        )
        return JSONResponse(body.model_dump(mode="json"), status_code=503)
    ok = revision == expected
    body = Readiness(
        status="ready" if ok else "not_ready",
        database="ok",
        backend=engine.dialect.name,
        schema_revision=revision,
        expected_revision=expected,
        detail=None if ok else "run `riskdesk db upgrade`",
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)
