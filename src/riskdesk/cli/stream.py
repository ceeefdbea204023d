"""``riskdesk stream``: run a broker Greeks stream into the database, and a fake broker.

``riskdesk stream fake-broker --protocol dxlink --port P --rate N --seed S [--sent-log FILE]
[--host 127.0.0.1]`` serves :class:`~riskdesk.adapters.tastytrade.fake.FakeDxlinkBroker` (the
tastytrade REST endpoints and the DXLink WebSocket on one address), prints its URL and blocks
until Ctrl-C or SIGTERM. Any login and password are accepted by the fake.

``riskdesk stream start [--broker simulated|tastytrade] [--url URL] [--account A] [--seed S]
[--rate N] [--duration SECONDS] [--journal-dir DIR] [--database-url URL]`` runs an
:class:`~riskdesk.streaming.ingest.Ingestor` in the foreground until ``--duration`` elapses,
Ctrl-C, SIGTERM or ``riskdesk stream stop``, with a live status line on stderr; then prints the
final counts and exits 1 if a journaled record was not stored (it stays in the journal and is
written by the next start). ``--broker tastytrade`` streams through
:class:`riskdesk.adapters.tastytrade.client.DxlinkSource` from ``--url`` (a fake broker's
``http://127.0.0.1:P`` works) with ``--login`` / ``--password`` (or the environment variables
``RISKDESK_TASTYTRADE_LOGIN`` / ``RISKDESK_TASTYTRADE_PASSWORD``; never written anywhere).

``riskdesk stream status [--json]`` prints the status file of the running (or last) ingest of
the journal directory, or else the latest ``stream_sessions`` rows. ``riskdesk stream stop``
sends SIGTERM to the ingest whose pid file is in the journal directory and waits for it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import typer
from rich.live import Live
from rich.table import Table
from rich.text import Text

from riskdesk.cli._common import (
    DatabaseUrlOption,
    JsonOption,
    console,
    err_console,
    fail,
    open_db,
    print_json,
)
from riskdesk.config import default_data_dir
from riskdesk.streaming.ingest import (
    STATUS_FILE_NAME,
    Ingestor,
    latest_sessions,
    read_status_file,
)
from riskdesk.streaming.source import TickSource

__all__ = ["PID_FILE_NAME", "app", "default_journal_dir"]

app = typer.Typer(
    no_args_is_help=True,
    help="Streaming Greeks: start, stop and watch an ingest; serve a fake broker.",
)

PID_FILE_NAME = "ingest.pid"
"""The pid file a foreground ``stream start`` writes into its journal directory."""

_PROTOCOLS = ("dxlink", "ibkr")
_BROKERS = ("simulated", "tastytrade")
_DEFAULT_ACCOUNTS = {"simulated": "SIM00001", "tastytrade": "5WT00001"}


def default_journal_dir() -> Path:
    """``<data dir>/stream-journal``: where ``stream start`` journals by default."""
    return default_data_dir() / "stream-journal"


JournalDirOption = typer.Option(
    None,
    "--journal-dir",
    help="Journal directory (also holds the status and pid files); default: "
    "<riskdesk data dir>/stream-journal.",
)


@contextlib.contextmanager
def _until_signal() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM (handlers restored after; main thread only)."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@app.command("fake-broker")
def fake_broker_command(
    protocol: str = typer.Option("dxlink", "--protocol", help="Wire protocol: dxlink."),
    port: int = typer.Option(0, "--port", min=0, max=65535, help="Port (0: any free port)."),
    rate: float = typer.Option(100.0, "--rate", min=0.0, help="Events per second per connection."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the synthetic book and paths."),
    sent_log: Path | None = typer.Option(
        None, "--sent-log", help="JSON-lines file every sent event is appended to."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    account: str = typer.Option("5WT00001", "--account", help="The account number served."),
    as_json: bool = JsonOption,
) -> None:
    """Serve a deterministic fake broker until Ctrl-C or SIGTERM."""
    if protocol not in _PROTOCOLS:
        fail(f"--protocol {protocol!r} is not known; use one of: {', '.join(_PROTOCOLS)}")
    if protocol == "ibkr":
        fail(
            "--protocol ibkr: the IBKR fake broker is not built yet; the protocol that "
            "exists is dxlink (tastytrade REST + DXLink WebSocket)"
        )
    from riskdesk.adapters.tastytrade.fake import FakeDxlinkBroker

    try:
        broker = FakeDxlinkBroker(
            host=host, port=port, rate=rate, seed=seed, account=account, sent_log=sent_log
        )
    except ValueError as exc:
        fail(str(exc))
    with _until_signal() as stop:
        try:
            url = broker.start()
        except OSError as exc:
            fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}; choose another --port")
        try:
            info = {
                "protocol": protocol,
                "url": url,
                "dxlink_url": broker.dxlink_url,
                "account": account,
                "rate": rate,
                "seed": seed,
                "pid": os.getpid(),
            }
            if as_json:
                print_json(info)
            else:
                console.print(f"fake {protocol} broker at {url} (account {account}); Ctrl-C stops")
            while not stop.wait(0.2):
                pass
        finally:
            broker.stop()
    if not as_json:
        console.print(f"stopped after sending {broker.sent_count} events")


def _sources(
    broker: str,
    *,
    url: str | None,
    account: str,
    seed: int,
    rate: float,
    login: str | None,
    password: str | None,
) -> list[TickSource]:
    if broker == "simulated":
        from riskdesk.adapters.simulated.stream import SimulatedSource

        return [SimulatedSource(account, seed=seed, rate=rate)]
    try:
        from riskdesk.adapters.tastytrade.client import DxlinkSource
    except ImportError as exc:
        fail(f"--broker tastytrade needs riskdesk.adapters.tastytrade.client.DxlinkSource: {exc}")
    if not url:
        fail("--broker tastytrade needs --url (e.g. http://127.0.0.1:PORT of a fake broker)")
    if not login or not password:
        fail(
            "--broker tastytrade needs --login and --password (or RISKDESK_TASTYTRADE_LOGIN "
            "and RISKDESK_TASTYTRADE_PASSWORD); a fake broker accepts any"
        )
    return [DxlinkSource(url, account=account, credentials=(login, password))]


def _status_line(status: dict[str, Any], elapsed: float) -> Text:
    totals = status["totals"]
    states = ", ".join(f"{s['broker']}/{s['account_id']} {s['status']}" for s in status["sessions"])
    writer = status.get("writer") or {}
    return Text(
        f"{elapsed:6.1f}s  {states}  received {totals['received']:,}  persisted "
        f"{totals['persisted']:,}  rejected {totals['rejected_total']:,}  journal depth "
        f"{writer.get('journal_depth', 0):,}"
    )


def _latency(status: dict[str, Any], name: str) -> float | None:
    """The worst per-session tick-to-durable percentile ``name`` (ms), or None."""
    values = [
        s["metrics"]["tick_to_durable_ms"][name]
        for s in status["sessions"]
        if s["metrics"]["tick_to_durable_ms"][name] is not None
    ]
    return max(values) if values else None


def _summary(status: dict[str, Any]) -> dict[str, Any]:
    writer = status.get("writer") or {}
    return {
        **status["totals"],
        "writer_persisted": writer.get("persisted"),
        "writer_deduped": writer.get("deduped"),
        "journal_depth": writer.get("journal_depth"),
        "p95_tick_to_durable_ms": _latency(status, "p95"),
        "p99_tick_to_durable_ms": _latency(status, "p99"),
        "drained": status.get("drained"),
    }


@app.command("start")
def start_command(
    broker: str = typer.Option("simulated", "--broker", help="simulated or tastytrade."),
    url: str | None = typer.Option(None, "--url", help="Broker address (tastytrade)."),
    account: str | None = typer.Option(None, "--account", help="Account streamed."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the simulated stream."),
    rate: float = typer.Option(100.0, "--rate", min=0.0, help="Simulated ticks per second."),
    duration: float | None = typer.Option(
        None, "--duration", min=0.0, help="Stop after this many seconds (default: until Ctrl-C)."
    ),
    journal_dir: Path | None = JournalDirOption,
    login: str | None = typer.Option(
        None, "--login", envvar="RISKDESK_TASTYTRADE_LOGIN", help="tastytrade login."
    ),
    password: str | None = typer.Option(
        None,
        "--password",
        envvar="RISKDESK_TASTYTRADE_PASSWORD",
        help="tastytrade password (prefer the environment variable).",
        show_default=False,
    ),
    database_url: str | None = DatabaseUrlOption,
    as_json: bool = JsonOption,
) -> None:
    """Stream into the database in the foreground; print the final counts."""
    if broker not in _BROKERS:
        fail(f"--broker {broker!r} is not supported; use one of: {', '.join(_BROKERS)}")
    folder = journal_dir or default_journal_dir()
    sources = _sources(
        broker,
        url=url,
        account=account or _DEFAULT_ACCOUNTS[broker],
        seed=seed,
        rate=rate,
        login=login,
        password=password,
    )
    pid_file = folder / PID_FILE_NAME
    with open_db(database_url) as db:
        ingestor = Ingestor(db, journal_dir=folder, sources=sources)
        try:
            ingestor.start()
        except Exception as exc:  # JournalError (directory in use), WriterError, ...
            fail(f"cannot start the ingest: {exc}")
        pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")
        started = time.monotonic()
        try:
            with (
                _until_signal() as stop,
                Live(console=err_console, transient=True, auto_refresh=False) as live,
            ):
                while not stop.wait(0.25):
                    elapsed = time.monotonic() - started
                    if not as_json:
                        live.update(_status_line(ingestor.status(), elapsed), refresh=True)
                    if duration is not None and elapsed >= duration:
                        break
        finally:
            drained = ingestor.stop()
            with contextlib.suppress(FileNotFoundError):
                pid_file.unlink()
    summary = _summary(ingestor.status())
    if as_json:
        print_json(summary)
    else:
        table = Table(title="stream ingest", show_header=False)
        for key, value in summary.items():
            table.add_row(key, "-" if value is None else f"{value}")
        console.print(table)
    if not drained:
        fail(
            f"{summary['journal_depth']} journaled records were not stored (the database did "
            f"not take them in time); they stay in {folder} and the next start writes them"
        )


@app.command("status")
def status_command(
    journal_dir: Path | None = JournalDirOption,
    database_url: str | None = DatabaseUrlOption,
    as_json: bool = JsonOption,
) -> None:
    """The live status of the ingest of the journal directory, else the latest sessions."""
    folder = journal_dir or default_journal_dir()
    live = read_status_file(folder / STATUS_FILE_NAME)
    running = live is not None and live.get("state") == "running" and _alive(folder)
    if live is not None and running:
        data: dict[str, Any] = {"source": "status_file", "running": True, "status": live}
        sessions = live["sessions"]
    else:
        with open_db(database_url) as db:
            sessions = latest_sessions(db)
        data = {"source": "stream_sessions", "running": False, "sessions": sessions}
    if as_json:
        print_json(data)
        return
    table = Table(title="stream sessions" + (" (live)" if running else ""))
    for column in ("broker", "account", "status", "received", "rows", "last error"):
        table.add_column(column)
    for s in sessions:
        metrics = s.get("metrics")
        received = metrics["received"] if metrics else s.get("messages_received")
        rows = metrics["persisted"] if metrics else s.get("rows_written")
        table.add_row(
            str(s["broker"]),
            str(s["account_id"]),
            str(s["status"]),
            f"{received}",
            f"{rows}",
            str(s.get("last_error") or ""),
        )
    console.print(table)


def _pid(folder: Path) -> int | None:
    try:
        return int((folder / PID_FILE_NAME).read_text(encoding="utf-8").strip())
    except (FileNotFoundError, ValueError):
        return None


def _alive(folder: Path) -> bool:
    pid = _pid(folder)
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@app.command("stop")
def stop_command(
    journal_dir: Path | None = JournalDirOption,
    timeout: float = typer.Option(60.0, "--timeout", min=0.0, help="Seconds to wait for it."),
) -> None:
    """Stop the foreground ingest of the journal directory (SIGTERM, then wait)."""
    folder = journal_dir or default_journal_dir()
    pid = _pid(folder)
    if pid is None or not _alive(folder):
        fail(f"no running ingest has a pid file in {folder} (start one with riskdesk stream start)")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(folder) or not (folder / PID_FILE_NAME).exists():
            console.print(f"stopped the ingest (pid {pid})")
            return
        time.sleep(0.1)
    fail(f"the ingest (pid {pid}) did not stop within {timeout:g} s; it is still draining")
