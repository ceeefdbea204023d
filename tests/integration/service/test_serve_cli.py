"""``riskdesk serve`` refuses configurations it cannot serve correctly, before starting."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskdesk.cli.main import app
from riskdesk.config import get_settings


@pytest.fixture
def migrated_sqlite(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    template: Path = request.getfixturevalue("_sqlite_template")
    target = tmp_path / "serve.sqlite3"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def _serve(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.delenv("RISKDESK_REDIS_URL", raising=False)
    # serve exports --database-url for its workers: let monkeypatch restore the variable
    monkeypatch.setenv("RISKDESK_DATABASE_URL", "sqlite:///placeholder.sqlite3")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", *args])
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_serve_with_several_workers_on_sqlite_refuses_to_start(
    migrated_sqlite: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = _serve(monkeypatch, "--workers", "2", "--database-url", migrated_sqlite)

    assert code == 1
    assert "needs PostgreSQL" in output


def test_serve_with_missing_database_says_to_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = _serve(
        monkeypatch, "--database-url", f"sqlite:///{tmp_path / 'missing.sqlite3'}"
    )

    assert code == 1
    assert "riskdesk db upgrade" in output
