"""``/v1/system/config`` and ``/v1/audit`` (admin only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from riskdesk.admin import AuditEntry, AuditFilter, ConfigEntry, SystemAdmin
from riskdesk.service.deps import AdminCaller, State
from riskdesk.service.pagination import Page, PageParams, after_key, page_params, to_page
from riskdesk.service.problems import problem_responses

__all__ = ["router"]

router = APIRouter(tags=["system"])

ConfigKey = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]


class ConfigOut(BaseModel):
    """A system config entry; a sensitive value is always shown as ``***``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a1f2c3d44e5f8a9b0c1d2e3f4a5b",
                    "key": "risk.max_daily_loss",
                    "value": "2500.00",
                    "config_type": "decimal",
                    "is_sensitive": False,
                    "description": "Daily loss that halts trading",
                    "created_at": "2026-11-30T19:00:00.000000Z",
                    "updated_at": "2026-11-30T19:00:00.000000Z",
                }
            ]
        }
    )

    id: str
    key: str
    value: str
    config_type: str
    is_sensitive: bool
    description: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, entry: ConfigEntry) -> ConfigOut:
        """The wire form of an entry."""
        return cls(
            id=str(entry.id),
            key=entry.key,
            value=entry.value,
            config_type=entry.config_type,
            is_sensitive=entry.is_sensitive,
            description=entry.description,
            created_at=entry.created_at,
            updated_at=entry.updated_at,
        )


class ConfigIn(BaseModel):
    """A value to set; sensitive values are encrypted at rest and never returned."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "value": "2500.00",
                    "config_type": "decimal",
                    "is_sensitive": False,
                    "description": "Daily loss that halts trading",
                }
            ]
        },
    )

    value: str = Field(max_length=10_000)
    config_type: Literal["string", "integer", "decimal", "boolean", "json"] = "string"
    is_sensitive: bool = False
    description: str | None = Field(None, max_length=1_000)


class AuditOut(BaseModel):
    """One audit row: who did what, to which resource, from where, with old and new values."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a1f2c3d44e5f8a9b0c1d2e3f4a5b",
                    "created_at": "2026-11-30T19:00:00.000000Z",
                    "actor": "alice",
                    "user_id": "0193a1f2c3d44e5f8a9b0c1d2e3f4a00",
                    "event_type": "trade_draft.leg_added",
                    "resource_type": "trade_draft",
                    "resource_id": "0193a1f2c3d44e5f8a9b0c1d2e3f4a11",
                    "payload": None,
                    "old_values": {"legs": []},
                    "new_values": {"legs": [{"quantity": "1"}]},
                    "ip_address": "127.0.0.1",
                    "user_agent": "python-httpx/0.28.1",
                }
            ]
        }
    )

    id: str
    created_at: datetime
    actor: str
    user_id: str | None
    event_type: str
    resource_type: str | None
    resource_id: str | None
    payload: dict[str, Any] | None
    old_values: dict[str, Any] | None
    new_values: dict[str, Any] | None
    ip_address: str | None
    user_agent: str | None

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditOut:
        """The wire form of an audit row."""
        return cls(
            id=str(entry.id),
            created_at=entry.created_at,
            actor=entry.actor,
            user_id=None if entry.user_id is None else str(entry.user_id),
            event_type=entry.event_type,
            resource_type=entry.resource_type,
            resource_id=entry.resource_id,
            payload=entry.payload,
            old_values=entry.old_values,
            new_values=entry.new_values,
            ip_address=entry.ip_address,
            user_agent=entry.user_agent,
        )


def _admin(state: State, caller: AdminCaller) -> SystemAdmin:
    return SystemAdmin(state.db, caller, state.box)


Admin = Annotated[SystemAdmin, Depends(_admin)]
_ERRORS = problem_responses(400, 401, 403, 422)


@router.get("/v1/system/config", response_model=Page[ConfigOut], responses=_ERRORS)
def list_config(
    admin: Admin, state: State, page: Annotated[PageParams, Depends(page_params)]
) -> Page[ConfigOut]:
    """Every config entry, newest first (sensitive values masked)."""
    secret = state.cursor_secret
    result = admin.list_config(after=after_key(page, secret=secret), limit=page.limit)
    return to_page(result, ConfigOut.of, page, secret=secret)


@router.get(
    "/v1/system/config/{key}",
    response_model=ConfigOut,
    responses=problem_responses(401, 403, 404, 422),
)
def get_config(key: ConfigKey, admin: Admin) -> ConfigOut:
    """One config entry (a sensitive value masked)."""
    return ConfigOut.of(admin.get_config(key))


@router.put(
    "/v1/system/config/{key}",
    response_model=ConfigOut,
    responses=problem_responses(401, 403, 409, 422),
)
def put_config(key: ConfigKey, body: ConfigIn, admin: Admin) -> ConfigOut:
    """Create or replace a config entry (audited; a sensitive value is encrypted at rest)."""
    return ConfigOut.of(
        admin.set_config(
            key,
            value=body.value,
            config_type=body.config_type,
            is_sensitive=body.is_sensitive,
            description=body.description,
        )
    )


@router.get("/v1/audit", response_model=Page[AuditOut], responses=_ERRORS)
def list_audit(
    admin: Admin,
    state: State,
    page: Annotated[PageParams, Depends(page_params)],
    actor: Annotated[str | None, Query(max_length=100)] = None,
    user_id: uuid.UUID | None = None,
    event_type: Annotated[str | None, Query(max_length=100)] = None,
    resource_type: Annotated[str | None, Query(max_length=50)] = None,
    resource_id: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[AuditOut]:
    """The audit log, newest first, optionally filtered."""
    secret = state.cursor_secret
    where = AuditFilter(
        actor=actor,
        user_id=user_id,
        event_type=event_type,
        resource_type=resource_type,
        resource_id=resource_id,
    )
    result = admin.list_audit(where=where, after=after_key(page, secret=secret), limit=page.limit)
    return to_page(result, AuditOut.of, page, secret=secret)
