"""Administration use cases: system config and the audit log.

Sensitive config values never leave encrypted. Callers are checked by the service (admin
role); these functions scope nothing.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from riskdesk.domain.caller import Caller
from riskdesk.store import Database
from riskdesk.store.models import AuditLog, SystemConfig
from riskdesk.store.paging import KeysetPage, PageKey, keyset_page
from riskdesk.store.secrets import SecretBox
from riskdesk.store.system_config import MASK, set_config
from riskdesk.store.workbench import NotFoundError

__all__ = [
    "RESERVED_PREFIXES",
    "AuditEntry",
    "AuditFilter",
    "ConfigEntry",
    "SystemAdmin",
]

RESERVED_PREFIXES: tuple[str, ...] = ("auth.",)
"""Config keys riskdesk manages itself (the token signing key): never set through the API."""


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """A config value as shown to an admin: a sensitive value is masked, never decrypted."""

    id: uuid.UUID
    key: str
    value: str
    config_type: str
    is_sensitive: bool
    description: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: SystemConfig) -> ConfigEntry:
        """The entry of a row (masked when sensitive)."""
        return cls(
            id=row.id,
            key=row.config_key,
            value=MASK if row.is_sensitive else row.config_value,
            config_type=row.config_type,
            is_sensitive=row.is_sensitive,
            description=row.description,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit row."""

    id: uuid.UUID
    created_at: datetime
    actor: str
    user_id: uuid.UUID | None
    event_type: str
    resource_type: str | None
    resource_id: str | None
    payload: dict[str, Any] | None
    old_values: dict[str, Any] | None
    new_values: dict[str, Any] | None
    ip_address: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Optional equality filters of an audit query."""

    actor: str | None = None
    user_id: uuid.UUID | None = None
    event_type: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None


def _check_value(key: str, value: str, config_type: str) -> None:
    """Refuse a value that does not parse as its declared type."""
    try:
        if config_type == "integer":
            int(value)
        elif config_type == "decimal":
            if not Decimal(value).is_finite():
                raise ValueError(value)
        elif config_type == "boolean":
            if value.lower() not in {"true", "false"}:
                raise ValueError(value)
        elif config_type == "json":
            json.loads(value)
    except (ValueError, InvalidOperation) as exc:
        raise ValueError(
            f"config {key!r}: value {value[:40]!r} is not a valid {config_type}"
        ) from exc


class SystemAdmin:
    """System config and audit log on one database, acting as ``caller``."""

    def __init__(self, db: Database, caller: Caller, box: SecretBox | None) -> None:
        self.db = db
        self.caller = caller
        self.box = box

    def list_config(self, *, after: PageKey | None, limit: int) -> KeysetPage[ConfigEntry]:
        """Every config entry (sensitive values masked), newest first."""
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            page = keyset_page(
                uow.session,
                select(SystemConfig),
                created_at=SystemConfig.created_at,
                id_=SystemConfig.id,
                after=after,
                limit=limit,
            )
            return KeysetPage([ConfigEntry.of(r) for r in page.items], page.next_key)

    def get_config(self, key: str) -> ConfigEntry:
        """The entry ``key`` (masked when sensitive)."""
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            row = uow.session.scalars(
                select(SystemConfig).where(SystemConfig.config_key == key)
            ).one_or_none()
            if row is None:
                raise NotFoundError(f"no system config {key!r}")
            return ConfigEntry.of(row)

    def set_config(
        self,
        key: str,
        *,
        value: str,
        config_type: str,
        is_sensitive: bool,
        description: str | None,
    ) -> ConfigEntry:
        """Create or replace ``key``; audited with old and new values (sensitive ones masked)."""
        if key.startswith(RESERVED_PREFIXES):
            raise ValueError(
                f"config {key!r} is managed by riskdesk itself (reserved prefixes "
                f"{', '.join(RESERVED_PREFIXES)}) and cannot be set"
            )
        _check_value(key, value, config_type)
        with self.db.unit_of_work_for(self.caller) as uow:
            row = set_config(
                uow,
                key=key,
                value=value,
                config_type=config_type,
                is_sensitive=is_sensitive,
                description=description,
                box=self.box,
            )
            return ConfigEntry.of(row)

    def list_audit(
        self, *, where: AuditFilter, after: PageKey | None, limit: int
    ) -> KeysetPage[AuditEntry]:
        """Audit rows matching ``where``, newest first."""
        stmt = select(AuditLog)
        for column, wanted in (
            (AuditLog.actor, where.actor),
            (AuditLog.user_id, where.user_id),
            (AuditLog.event_type, where.event_type),
            (AuditLog.resource_type, where.resource_type),
            (AuditLog.resource_id, where.resource_id),
        ):
            if wanted is not None:
                stmt = stmt.where(column == wanted)
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            page = keyset_page(
                uow.session,
                stmt,
                created_at=AuditLog.created_at,
                id_=AuditLog.id,
                after=after,
                limit=limit,
            )
            return KeysetPage(
                [
                    AuditEntry(
                        id=r.id,
                        created_at=r.created_at,
                        actor=r.actor,
                        user_id=r.user_id,
                        event_type=r.event_type,
                        resource_type=r.resource_type,
                        resource_id=r.resource_id,
                        payload=r.event_payload_json,
                        old_values=r.old_values,
                        new_values=r.new_values,
                        ip_address=r.ip_address,
                        user_agent=r.user_agent,
                    )
                    for r in page.items
                ],
                page.next_key,
            )
