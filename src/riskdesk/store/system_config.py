"""Read and write ``system_config`` (seed 001); sensitive values are encrypted at rest.

Every change is audited (``config.changed``) with old and new values; sensitive values are
masked in the audit row.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskdesk.store.errors import SecretStoreError
from riskdesk.store.models import SystemConfig
from riskdesk.store.models.system import CONFIG_TYPES
from riskdesk.store.secrets import SecretBox
from riskdesk.store.uow import UnitOfWork

__all__ = ["MASK", "get_config", "set_config"]

MASK = "***"


def set_config(
    uow: UnitOfWork,
    *,
    key: str,
    value: str,
    config_type: str = "string",
    is_sensitive: bool = False,
    description: str | None = None,
    box: SecretBox | None = None,
) -> SystemConfig:
    """Create or update ``key``. A sensitive value needs ``box`` and is stored encrypted."""
    if config_type not in CONFIG_TYPES:
        raise ValueError(f"config_type {config_type!r} is not one of {CONFIG_TYPES}")
    if is_sensitive and box is None:
        raise SecretStoreError(f"config {key!r} is sensitive: pass a SecretBox to encrypt it")
    stored = box.encrypt(value) if is_sensitive and box is not None else value
    row = uow.session.scalars(
        select(SystemConfig).where(SystemConfig.config_key == key)
    ).one_or_none()
    old: dict[str, object] | None = None
    if row is None:
        row = SystemConfig(
            config_key=key,
            config_value=stored,
            config_type=config_type,
            is_sensitive=is_sensitive,
            description=description,
        )
        uow.add(row)
    else:
        old = {
            "value": MASK if row.is_sensitive else row.config_value,
            "config_type": row.config_type,
            "is_sensitive": row.is_sensitive,
        }
        row.config_value = stored
        row.config_type = config_type
        row.is_sensitive = is_sensitive
        if description is not None:
            row.description = description
    new = {
        "value": MASK if is_sensitive else value,
        "config_type": config_type,
        "is_sensitive": is_sensitive,
    }
    uow.flush()
    uow.audit("config.changed", resource_type="system_config", resource_id=key, old=old, new=new)
    return row


def get_config(session: Session, *, key: str, box: SecretBox | None = None) -> str | None:
    """Return the value of ``key`` in clear (None if unset); a sensitive value needs ``box``."""
    row = session.scalars(select(SystemConfig).where(SystemConfig.config_key == key)).one_or_none()
    if row is None:
        return None
    if row.is_sensitive:
        if box is None:
            raise SecretStoreError(f"config {key!r} is sensitive: pass the SecretBox to decrypt it")
        return box.decrypt(row.config_value)
    return row.config_value
