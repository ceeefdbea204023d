"""How the CLI reports errors: one line on stderr and a non-zero exit; the traceback on request.

Every command runs inside :class:`RiskdeskGroup`, the root command group. A user mistake or
an unavailable resource that escapes a command (:data:`USER_ERRORS`: store errors, bad
values, unknown references, file and database errors, Ctrl-C) is printed as one line::

    error: cannot connect to PostgreSQL at 127.0.0.1:5999 (connection refused): is the ...

and the command exits with status 1 (130 after Ctrl-C). ``riskdesk --debug ...`` or
``RISKDESK_DEBUG=1`` prints the Python traceback before that line. Any other exception is a
bug in riskdesk and keeps its traceback.
"""

from __future__ import annotations

import errno
import re
import sys
import traceback
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm.exc import StaleDataError
from typer.core import TyperGroup

from riskdesk.config import debug_from_env
from riskdesk.store.db import mask_passwords
from riskdesk.store.errors import StoreError, describe_db_error, translate_db_error

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "USER_ERRORS",
    "RiskdeskGroup",
    "error_message",
]

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT), as shells report it."""

USER_ERRORS: tuple[type[BaseException], ...] = (
    StoreError,
    ValueError,
    LookupError,
    OSError,
    sa_exc.SQLAlchemyError,
)
"""Errors that mean "wrong input or unavailable resource", reported as one line."""

_err_console = Console(stderr=True, soft_wrap=True, highlight=False)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _validation_message(error: ValidationError) -> str:
    settings = error.title == "Settings"
    parts: list[str] = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"])
        name = f"RISKDESK_{field.upper()}" if settings and field else field or error.title
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(message if message.startswith(name) else f"{name}: {message}")
    prefix = "invalid setting " if settings else f"invalid {error.title}: "
    return prefix + "; ".join(parts)


def _os_message(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        where = f" writing {error.filename}" if error.filename else ""
        return f"disk full{where}: free space and retry"
    if error.strerror and error.filename is not None:
        second = f" -> {error.filename2}" if error.filename2 is not None else ""
        return f"{error.strerror}: {error.filename}{second}"
    return str(error) or type(error).__name__


def error_message(error: BaseException) -> str:
    """The one-line message shown for ``error``: what is wrong and how to fix it.

    Driver errors are explained (see :func:`riskdesk.store.errors.describe_db_error`) without
    the SQL statement or its parameters; any password in a URL is masked.
    """
    text: str
    if isinstance(error, KeyboardInterrupt):
        text = "interrupted: the command was stopped before it finished (nothing half-written)"
    elif isinstance(error, ValidationError):
        text = _validation_message(error)
    elif isinstance(error, sa_exc.DBAPIError):
        text = str(describe_db_error(error))
    elif isinstance(error, StaleDataError):
        text = (
            f"another process changed the same data at the same time ({error}): retry the command"
        )
    elif isinstance(error, sa_exc.StatementError):
        translated = translate_db_error(error)
        cause = translated if translated is not None else error.orig
        text = str(cause) if cause is not None else str(error)
    elif isinstance(error, KeyError) and error.args:
        # KeyError's str() is the repr of its argument: show the message itself
        text = str(error.args[0])
    elif isinstance(error, OSError):
        text = _os_message(error)
    else:
        text = str(error)
    if isinstance(error, sa_exc.SQLAlchemyError) and not isinstance(error, sa_exc.DBAPIError):
        text = text.split("\n(Background on this error", 1)[0]
    text = _one_line(mask_passwords(text))
    return text or type(error).__name__


def report_error(error: BaseException, *, debug: bool) -> None:
    """Print ``error`` on stderr: the traceback first when ``debug``, then one line."""
    if debug:
        traceback.print_exception(error, file=sys.stderr)
        sys.stderr.flush()
    _err_console.print(f"[bold red]error:[/] {escape(error_message(error))}")


class RiskdeskGroup(TyperGroup):
    """The root command group: turns :data:`USER_ERRORS` into one line and an exit status."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command, reporting user errors and Ctrl-C (see the module docstring)."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as error:
            report_error(error, debug=self._debug(ctx))
            raise typer.Exit(EXIT_INTERRUPTED) from error
        except USER_ERRORS as error:
            report_error(error, debug=self._debug(ctx))
            raise typer.Exit(EXIT_ERROR) from error

    @staticmethod
    def _debug(ctx: Any) -> bool:
        return bool(ctx.params.get("debug")) or debug_from_env()
