"""The public surface of riskdesk.store stays what callers rely on."""

from __future__ import annotations

import riskdesk.store
import riskdesk.store.models

EXPECTED = {
    "PARTITIONED_TABLES",
    "ConstraintViolationError",
    "Database",
    "DatabaseStatus",
    "ImmutableRowError",
    "MigrationError",
    "NaiveDatetimeError",
    "NumericValueError",
    "RiskdeskSession",
    "SecretBox",
    "SecretStoreError",
    "StoreError",
    "UnitOfWork",
    "backend_name",
    "create_engine",
    "current_revision",
    "database_status",
    "downgrade_database",
    "ensure_month_partitions",
    "head_revision",
    "insert_rows",
    "list_partitions",
    "load_secret_box",
    "make_session_factory",
    "purge_database",
    "rehome_default_rows",
    "require_head",
    "safe_url",
    "translate_db_error",
    "upgrade_database",
}


def test_store_package_with_all_exports_exactly_the_public_api() -> None:
    assert set(riskdesk.store.__all__) == EXPECTED
    assert all(hasattr(riskdesk.store, name) for name in EXPECTED)


def test_models_package_with_all_exports_every_table_model() -> None:
    tables = {
        getattr(riskdesk.store.models, name).__tablename__
        for name in riskdesk.store.models.__all__
        if hasattr(getattr(riskdesk.store.models, name), "__tablename__")
    }

    assert tables == set(riskdesk.store.models.Base.metadata.tables)
