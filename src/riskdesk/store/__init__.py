"""Storage: SQLAlchemy models, the Alembic history, units of work and the audit log.

Typical use::

    db = Database.from_settings(get_settings())
    upgrade_database(db.engine)
    with db.unit_of_work() as uow:
        uow.add(model_row)
        uow.audit("event.name", new={...})

Models live in :mod:`riskdesk.store.models`; see ``docs/schema.md`` for how the five seed
schemas map onto them.
"""

from riskdesk.store.database import Database
from riskdesk.store.db import backend_name, create_engine, make_session_factory, safe_url
from riskdesk.store.errors import (
    ConstraintViolationError,
    ImmutableRowError,
    MigrationError,
    NaiveDatetimeError,
    NumericValueError,
    SecretStoreError,
    StoreError,
    translate_db_error,
)
from riskdesk.store.maintenance import DatabaseStatus, database_status, purge_database
from riskdesk.store.migrate import (
    current_revision,
    downgrade_database,
    head_revision,
    require_head,
    upgrade_database,
)
from riskdesk.store.partitions import (
    PARTITIONED_TABLES,
    ensure_month_partitions,
    list_partitions,
    rehome_default_rows,
)
from riskdesk.store.secrets import SecretBox, load_secret_box
from riskdesk.store.session import RiskdeskSession
from riskdesk.store.timeseries import insert_rows
from riskdesk.store.uow import UnitOfWork

__all__ = [
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
]
