"""system_config: sensitive values are stored encrypted and audited masked."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from riskdesk.store import SecretBox, SecretStoreError, UnitOfWork, make_session_factory
from riskdesk.store.models import AuditLog
from riskdesk.store.system_config import MASK, get_config, set_config


def test_sensitive_config_with_box_is_stored_encrypted_and_read_back(
    migrated_engine: Engine,
) -> None:
    box = SecretBox(SecretBox.generate_key())
    sessions = make_session_factory(migrated_engine)
    with UnitOfWork(sessions, actor="tester") as uow:
        set_config(
            uow, key="tastytrade.refresh_token", value="tt-secret-1", is_sensitive=True, box=box
        )
    with UnitOfWork(sessions, actor="tester") as uow:
        set_config(
            uow, key="tastytrade.refresh_token", value="tt-secret-2", is_sensitive=True, box=box
        )

    with migrated_engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT config_value FROM system_config")).scalar_one()
    with sessions() as session:
        value = get_config(session, key="tastytrade.refresh_token", box=box)
        audits = session.scalars(sa.select(AuditLog).order_by(AuditLog.created_at)).all()
        with pytest.raises(SecretStoreError, match="sensitive"):
            get_config(session, key="tastytrade.refresh_token")

    assert raw.startswith("gAAAAA")
    assert "tt-secret" not in raw
    assert value == "tt-secret-2"
    assert [a.event_type for a in audits] == ["config.changed", "config.changed"]
    assert audits[1].old_values is not None
    assert audits[1].old_values["value"] == MASK
    assert audits[1].new_values is not None
    assert audits[1].new_values["value"] == MASK


def test_sensitive_config_without_box_is_refused(migrated_engine: Engine) -> None:
    with (
        pytest.raises(SecretStoreError, match="pass a SecretBox"),
        UnitOfWork(make_session_factory(migrated_engine), actor="tester") as uow,
    ):
        set_config(uow, key="ibkr.password", value="clear", is_sensitive=True)
