"""Errors through the real CLI: one line on stderr that names the problem, a non-zero exit and
no traceback; ``--debug`` (or ``RISKDESK_DEBUG=1``) shows the traceback.

Most cases run in-process with typer's runner (an escaping exception shows up as
``result.exception``); the file-permission and concurrency cases run ``riskdesk`` in
subprocesses, the permission ones as an unprivileged user (tests run as root, which ignores
file modes).
"""

from __future__ import annotations

import errno
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from typer.testing import CliRunner, Result

from riskdesk.cli._errors import EXIT_INTERRUPTED, error_message
from riskdesk.cli.main import app
from riskdesk.config import get_settings
from riskdesk.store.errors import StoreError
from riskdesk.store.migrate import head_revision
from riskdesk.store.reference_data import reference_rows

runner = CliRunner()
PASSWORD = "pw-never-shown-7f3a"
CLI = [sys.executable, "-c", "from riskdesk.cli.main import app; app()"]


def invoke(*args: str, debug_env: bool = False) -> Result:
    env = {"RISKDESK_DEBUG": "1" if debug_env else None}
    return runner.invoke(app, list(args), env=env)


def assert_one_line_error(stderr: str, *needles: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def assert_cli_error(args: list[str], *needles: str) -> str:
    """Run ``args`` plain and with ``--debug``: one line, then the traceback and the line."""
    result = invoke(*args)
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    line = assert_one_line_error(result.stderr, *needles)
    assert result.stdout == ""

    debug = invoke("--debug", *args)
    assert debug.exit_code == result.exit_code
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == line
    return line


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def sqlite_file(url: str) -> Path:
    database = make_url(url).database
    assert database is not None
    return Path(database)


def count_rows(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


# --- unreachable or wrong databases ----------------------------------------------------------


@pytest.mark.parametrize("command", [["db", "status"], ["db", "upgrade"]])
def test_db_command_with_closed_postgres_port_prints_one_line_connection_refused(
    command: list[str],
) -> None:
    port = closed_port()
    url = f"postgresql+psycopg://riskdesk:{PASSWORD}@127.0.0.1:{port}/riskdesk"

    line = assert_cli_error(
        [*command, "--database-url", url],
        f"cannot connect to PostgreSQL at 127.0.0.1:{port}",
        "connection refused",
        "is the server running?",
    )

    assert PASSWORD not in line
    assert PASSWORD not in invoke("--debug", *command, "--database-url", url).output


@pytest.mark.postgres
def test_db_status_with_missing_postgres_database_says_create_it_with_createdb() -> None:
    server = os.environ.get("RISKDESK_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("RISKDESK_TEST_POSTGRES_URL is not set (scripts/test.sh sets it)")
    name = f"riskdesk_missing_{secrets.token_hex(4)}"
    url = make_url(server).set(drivername="postgresql+psycopg", database=name)

    assert_cli_error(
        ["db", "status", "--database-url", url.render_as_string(hide_password=False)],
        f"database {name} does not exist",
        f"createdb -h {url.host} -p {url.port}",
    )


@pytest.mark.parametrize("command", [["db", "status"], ["db", "upgrade"]])
def test_db_command_with_text_file_as_database_says_not_a_sqlite_database(
    tmp_path: Path, command: list[str]
) -> None:
    path = tmp_path / "notes.db"
    text = "these are my notes, not a database\n" * 50
    path.write_text(text)

    assert_cli_error(
        [*command, "--database-url", f"sqlite:///{path}"],
        f"{path} is not a SQLite database",
    )

    assert path.read_text() == text


def test_db_status_with_nonexistent_directory_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nonexistent" / "dir" / "x.db"

    assert_cli_error(
        ["db", "status", "--database-url", f"sqlite:///{path}"],
        f"no riskdesk database at {path}",
        "riskdesk db upgrade",
    )

    assert list(tmp_path.iterdir()) == []


def test_db_purge_with_missing_database_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"

    assert_cli_error(["db", "purge", "--yes", "--database-url", f"sqlite:///{path}"], str(path))

    assert list(tmp_path.iterdir()) == []


def test_db_status_with_unparsable_url_masks_the_password() -> None:
    url = f"postgresql+psycopg://riskdesk:{PASSWORD}@db.example:notaport/riskdesk"

    line = assert_cli_error(["db", "status", "--database-url", url], "is not a valid URL")

    assert PASSWORD not in line


def test_db_status_with_unsupported_url_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RISKDESK_DATABASE_URL", f"mysql://riskdesk:{PASSWORD}@localhost/rd")
    get_settings.cache_clear()
    try:
        line = assert_cli_error(["db", "status"], "RISKDESK_DATABASE_URL", "'mysql'")
    finally:
        get_settings.cache_clear()

    assert PASSWORD not in line


# --- full disk --------------------------------------------------------------------------------


@pytest.fixture
def tiny_sqlite_disk() -> Iterator[None]:
    """Every new SQLite connection may grow its database by only a few pages ("disk full")."""

    def limit(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        try:
            pages = cursor.execute("PRAGMA page_count").fetchone()[0]
            cursor.execute(f"PRAGMA max_page_count={pages + 4}")
        finally:
            cursor.close()

    event.listen(Engine, "connect", limit)
    try:
        yield
    finally:
        event.remove(Engine, "connect", limit)


def test_db_upgrade_with_full_disk_prints_one_line_and_leaves_no_table(
    tmp_path: Path, tiny_sqlite_disk: None
) -> None:
    path = tmp_path / "full.db"

    assert_cli_error(
        ["db", "upgrade", "--database-url", f"sqlite:///{path}"],
        f"disk full while writing {path}",
        "nothing was saved",
    )

    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


# --- read-only file and directory (as an unprivileged user) ------------------------------------


def _unprivileged_prefix() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("tests run as root (which ignores file modes) and setpriv is not installed")
    nobody = pwd.getpwnam("nobody")
    return [setpriv, f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]


@pytest.fixture
def private_area() -> Iterator[Path]:
    """A directory outside pytest's root-only tmp dir, owned by the unprivileged user."""
    base = Path(tempfile.mkdtemp(prefix="riskdesk-perm-"))
    base.chmod(0o755)
    area = base / "area"
    area.mkdir()
    numba = base / "numba"
    numba.mkdir()
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for path in (area, numba):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
    try:
        yield area
    finally:
        for root, dirs, _files in os.walk(base):
            for name in dirs:
                Path(root, name).chmod(0o755)
        shutil.rmtree(base)


def run_unprivileged(
    area: Path, *args: str, debug: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKDESK_")}
    env["NUMBA_CACHE_DIR"] = str(area.parent / "numba")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if debug:
        env["RISKDESK_DEBUG"] = "1"
    return subprocess.run(
        [*_unprivileged_prefix(), *CLI, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=area.parent,
        timeout=300,
        check=False,
    )


def _migrated_database(area: Path) -> Path:
    path = area / "desk.db"
    assert invoke("db", "upgrade", "--database-url", f"sqlite:///{path}").exit_code == 0
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    return path


def test_db_purge_with_read_only_database_file_refuses_in_one_line(private_area: Path) -> None:
    path = _migrated_database(private_area)
    url = f"sqlite:///{path}"
    rows_before = count_rows(url, "factor_definitions")
    path.chmod(0o444)

    result = run_unprivileged(private_area, "db", "purge", "--yes", "--database-url", url)
    debug = run_unprivileged(
        private_area, "db", "purge", "--yes", "--database-url", url, debug=True
    )

    assert result.returncode != 0, result.stdout
    assert_one_line_error(result.stderr, f"the database file {path} is read-only", "chmod u+w")
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr
    path.chmod(0o600)
    assert count_rows(url, "factor_definitions") == rows_before > 0


def test_db_purge_with_read_only_directory_refuses_in_one_line(private_area: Path) -> None:
    path = _migrated_database(private_area)
    url = f"sqlite:///{path}"
    rows_before = count_rows(url, "factor_definitions")
    private_area.chmod(0o555)

    result = run_unprivileged(private_area, "db", "purge", "--yes", "--database-url", url)
    debug = run_unprivileged(
        private_area, "db", "purge", "--yes", "--database-url", url, debug=True
    )

    assert result.returncode != 0, result.stdout
    assert_one_line_error(result.stderr, f"the directory {private_area}", "read-only")
    assert "Traceback (most recent call last)" in debug.stderr
    private_area.chmod(0o755)
    assert count_rows(url, "factor_definitions") == rows_before > 0


def test_db_upgrade_with_read_only_directory_cannot_create_the_database(
    private_area: Path,
) -> None:
    private_area.chmod(0o555)
    path = private_area / "new.db"

    result = run_unprivileged(private_area, "db", "upgrade", "--database-url", f"sqlite:///{path}")

    assert result.returncode != 0, result.stdout
    assert_one_line_error(
        result.stderr, f"cannot create the database {path}", f"{private_area} is not writable"
    )
    assert not path.exists()


# --- concurrent migrations --------------------------------------------------------------------


def test_db_upgrade_with_three_concurrent_processes_migrates_once(db_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RISKDESK_DEBUG"}
    procs = [
        subprocess.Popen(
            [*CLI, "db", "upgrade", "--database-url", db_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(3)
    ]
    outputs = [proc.communicate(timeout=600) for proc in procs]

    head = head_revision()
    for proc, (stdout, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr
        assert "Traceback" not in stderr
        assert f"is at revision {head}" in " ".join(stdout.split())
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    finally:
        engine.dispose()
    assert [v[0] for v in versions] == [head]
    expected = len(reference_rows()["factor_definitions"])
    assert count_rows(db_url, "factor_definitions") == expected


# --- any user error escaping a command --------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ValueError("--rate 'nan' is not a finite number"), "--rate 'nan' is not a finite number"),
        (KeyError("no trade matches 'abc'"), "no trade matches 'abc'"),
        (
            OSError(errno.ENOSPC, "No space left on device", "/data/report.html"),
            "disk full writing /data/report.html",
        ),
        (
            PermissionError(errno.EACCES, "Permission denied", "/data/chain.csv"),
            "Permission denied: /data/chain.csv",
        ),
        (StoreError("snapshot 1a2b is immutable"), "snapshot 1a2b is immutable"),
    ],
)
def test_command_with_escaping_user_error_prints_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, error: Exception, expected: str
) -> None:
    def broken(_engine: object) -> None:
        raise error

    monkeypatch.setattr("riskdesk.cli.db.database_status", broken)

    assert_cli_error(["db", "status", "--database-url", f"sqlite:///{tmp_path / 'x.db'}"], expected)


def test_command_with_keyboard_interrupt_exits_130_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def interrupted(_engine: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("riskdesk.cli.db.database_status", interrupted)

    result = invoke("db", "status", "--database-url", f"sqlite:///{tmp_path / 'x.db'}")

    assert result.exit_code == EXIT_INTERRUPTED
    assert_one_line_error(result.stderr, "interrupted")


def test_riskdesk_debug_env_with_error_prints_the_traceback(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"

    result = invoke("db", "status", "--database-url", f"sqlite:///{path}", debug_env=True)

    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "DatabaseUnavailableError" in result.stderr
    assert (
        result.stderr.strip().splitlines()[-1].startswith(f"error: no riskdesk database at {path}")
    )


@pytest.mark.postgres
def test_error_message_with_postgres_value_too_long_is_one_line_without_sql(
    postgres_url: str,
) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("CREATE TEMP TABLE short_names (name varchar(8))"))
            with pytest.raises(sa.exc.DBAPIError) as raised:
                conn.execute(sa.text("INSERT INTO short_names VALUES (:n)"), {"n": "x" * 60})
    finally:
        engine.dispose()

    message = error_message(raised.value)

    assert "\n" not in message
    assert "text value is longer than its column allows" in message
    assert "varying(8)" in message
    assert "INSERT" not in message
