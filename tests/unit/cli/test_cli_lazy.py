"""The CLI imports a command's module only when the command is looked up."""

from __future__ import annotations

import subprocess
import sys

import typer.main

from riskdesk.cli import main


def test_cli_import_with_no_command_loads_no_command_module() -> None:
    # Arrange: a fresh interpreter, so nothing else imported the modules first
    probe = (
        "import sys, riskdesk.cli.main as m; "
        "heavy = ['pandas', 'scipy', 'numba', 'fastapi', 'riskdesk.risk.batch', "
        "'riskdesk.workbench', 'riskdesk.cli.workbench']; "
        "print(sorted(name for name in heavy if name in sys.modules))"
    )

    # Act
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )

    # Assert
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_every_lazy_command_resolves_to_a_command_of_its_name_with_help() -> None:
    # Arrange
    group = typer.main.get_command(main.app)

    # Act
    with typer.Context(group) as ctx:
        listed = group.list_commands(ctx)  # type: ignore[attr-defined]
        commands = {name: group.get_command(ctx, name) for name in listed}  # type: ignore[attr-defined]

    # Assert
    assert listed == list(main.LAZY_COMMANDS)
    assert all(c is not None and c.name == name for name, c in commands.items())
    assert all((c.help or "").strip() for c in commands.values())
    for name, (_, _, help_text) in main.LAZY_COMMANDS.items():
        if help_text is not None:
            assert commands[name].help == help_text
