"""Files of a SQLite database: private when created, never created by a read-only open."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from riskdesk.store.database import Database
from riskdesk.store.db import create_engine
from riskdesk.store.errors import DatabaseUnavailableError
from riskdesk.store.migrate import head_revision, upgrade_database


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The common default umask 022, under which plain creation gives 0755 dirs and 0644 files."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_create_engine_with_new_sqlite_path_creates_private_dirs_file_wal_and_shm(
    tmp_path: Path, permissive_umask: None
) -> None:
    path = tmp_path / "data" / "riskdesk" / "desk.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))
            conn.commit()
            wal = path.with_name(path.name + "-wal")
            shm = path.with_name(path.name + "-shm")
            modes = {p.name: mode(p) for p in (path, wal, shm)}
    finally:
        engine.dispose()

    assert mode(tmp_path / "data") == 0o700
    assert mode(tmp_path / "data" / "riskdesk") == 0o700
    assert modes == {path.name: 0o600, wal.name: 0o600, shm.name: 0o600}


def test_upgrade_database_with_new_sqlite_path_leaves_no_file_readable_by_others(
    tmp_path: Path, permissive_umask: None
) -> None:
    path = tmp_path / "new" / "desk.sqlite3"

    assert upgrade_database(f"sqlite:///{path}") == head_revision()

    assert mode(path.parent) == 0o700
    assert [p.name for p in path.parent.iterdir() if mode(p) & 0o077] == []


def test_create_engine_with_existing_directory_keeps_its_mode(
    tmp_path: Path, permissive_umask: None
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    engine = create_engine(f"sqlite:///{folder / 'desk.sqlite3'}")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()

    assert mode(folder) == 0o755
    assert mode(folder / "desk.sqlite3") == 0o600


def test_create_engine_with_create_false_and_missing_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "desk.sqlite3"
    engine = create_engine(f"sqlite:///{path}", create=False)
    try:
        with pytest.raises(DatabaseUnavailableError, match="no riskdesk database at"):
            engine.connect()
    finally:
        engine.dispose()

    assert list(tmp_path.iterdir()) == []


def test_database_from_url_with_create_false_reads_an_existing_database(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite3"
    upgrade_database(f"sqlite:///{path}")
    size = path.stat().st_size

    db = Database.from_url(f"sqlite:///{path}", create=False)
    try:
        with db.engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        db.dispose()

    assert version == head_revision()
    assert path.stat().st_size == size


def test_database_from_url_with_create_false_and_missing_file_creates_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "desk.sqlite3"
    db = Database.from_url(f"sqlite:///{path}", create=False)
    try:
        with pytest.raises(DatabaseUnavailableError, match=str(path)), db.unit_of_work() as uow:
            uow.session.execute(sa.text("SELECT 1"))
    finally:
        db.dispose()

    assert not path.exists()
