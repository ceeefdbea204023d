"""``riskdesk stream``: run a broker Greeks stream into the database, and a fake broker.

``riskdesk stream fake-broker --protocol dxlink|ibkr --port P --rate N --seed S [--sent-log
FILE] [--host 127.0.0.1]`` serves :class:`~riskdesk.adapters.tastytrade.fake.FakeDxlinkBroker`
(the tastytrade REST endpoints and the DXLink WebSocket on one address) or
:class:`~riskdesk.adapters.ibkr.fake.FakeTwsBroker` (the TWS API socket protocol), prints its
URL and blocks until Ctrl-C or SIGTERM. Any login and password are accepted by the fake.

``riskdesk stream start [--broker simulated|tastytrade|ibkr ...] [--url URL ...] [--account A
...] [--credentials NAME ...] [--seed S] [--rate N] [--duration SECONDS] [--journal-dir DIR]
[--database-url URL]`` (repeat ``--broker`` to stream several accounts in one ingest) runs an
:class:`~riskdesk.streaming.ingest.Ingestor` in the foreground until ``--duration`` elapses,
Ctrl-C, SIGTERM or ``riskdesk stream stop``, with a live status line on stderr; then prints the
final counts and exits 1 if a journaled record was not stored (it stays in the journal and is
written by the next start). Sources are built by
:func:`riskdesk.streaming.sources.build_source`: tastytrade credentials come from the secrets
store (``riskdesk secrets broker-login``; ``--credentials NAME``), or for one run from
``--login`` with ``RISKDESK_TASTYTRADE_PASSWORD`` (never written anywhere); ``--broker ibkr``
connects to TWS / IB Gateway at ``tws://host:port``.

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
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

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
_DXLINK_ACCOUNT = "5WT00001"
_IBKR_ACCOUNT = "DU000001"


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


class _Fake(Protocol):
    """What both fake brokers offer the command."""

    @property
    def sent_count(self) -> int: ...

    def start(self) -> str: ...

    def stop(self) -> None: ...


@app.command("fake-broker")
def fake_broker_command(
    protocol: str = typer.Option(
        "dxlink",
        "--protocol",
        help="Wire protocol: dxlink (tastytrade REST + DXLink) or ibkr (the TWS API socket).",
    ),
    port: int = typer.Option(0, "--port", min=0, max=65535, help="Port (0: any free port)."),
    rate: float = typer.Option(100.0, "--rate", min=0.0, help="Events per second per connection."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the synthetic book and paths."),
    sent_log: Path | None = typer.Option(
        None, "--sent-log", help="JSON-lines file every sent event is appended to."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    account: str | None = typer.Option(
        None,
        "--account",
        help=f"The account number served (default {_DXLINK_ACCOUNT}; ibkr {_IBKR_ACCOUNT}).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Serve a deterministic fake broker until Ctrl-C or SIGTERM."""
    if protocol not in _PROTOCOLS:
        fail(f"--protocol {protocol!r} is not known; use one of: {', '.join(_PROTOCOLS)}")
    fake: _Fake
    extra: dict[str, Callable[[], str]]
    options: dict[str, Any] = {"host": host, "port": port, "rate": rate, "seed": seed}
    try:
        if protocol == "ibkr":
            from riskdesk.adapters.ibkr.fake import FakeTwsBroker

            account = account or _IBKR_ACCOUNT
            fake = FakeTwsBroker(**options, account=account, sent_log=sent_log)
            label, unit, extra = "ibkr (TWS API)", "computations", {}
        else:
            from riskdesk.adapters.tastytrade.fake import FakeDxlinkBroker

            account = account or _DXLINK_ACCOUNT
            dxlink = FakeDxlinkBroker(**options, account=account, sent_log=sent_log)
            fake, label, unit = dxlink, "dxlink", "events"
            extra = {"dxlink_url": lambda: dxlink.dxlink_url}
    except ValueError as exc:
        fail(str(exc))
    with _until_signal() as stop:
        try:
            url = fake.start()
        except OSError as exc:
            fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}; choose another --port")
        try:
            info: dict[str, Any] = {"protocol": protocol, "url": url}
            info |= {name: value() for name, value in extra.items()}
            info |= {"account": account, "rate": rate, "seed": seed, "pid": os.getpid()}
            if as_json:
                print_json(info)
            else:
                console.print(f"fake {label} broker at {url} (account {account}); Ctrl-C stops")
            while not stop.wait(0.2):
                pass
        finally:
            fake.stop()
    if not as_json:
        console.print(f"stopped after sending {fake.sent_count} {unit}")


def _sources(
    brokers: list[str],
    *,
    urls: list[str],
    accounts: list[str],
    credentials: list[str],
    seed: int,
    rate: float,
    login: str | None,
    password: str | None,
) -> list[TickSource]:
    """One source per ``--broker``, paired by position with ``--url``/``--account``/...

    tastytrade credentials come from the secrets store (``--credentials NAME``, default
    ``default``; ``riskdesk secrets broker-login`` puts them there). ``--login`` with a
    password from the environment is for fake brokers and one-off runs: used for this run
    only, never written anywhere.
    """
    from riskdesk.secrets import SecretsError
    from riskdesk.streaming.sources import SourceSpec, SourceUnavailableError, build_source

    for option, values in (("--url", urls), ("--account", accounts)):
        if len(values) > len(brokers):
            fail(f"{len(values)} {option} values for {len(brokers)} --broker; pair them in order")
    tasty = [i for i, b in enumerate(brokers) if b == "tastytrade"]
    if len(credentials) > len(tasty):
        fail(f"{len(credentials)} --credentials for {len(tasty)} tastytrade --broker")
    sources: list[TickSource] = []
    for i, broker in enumerate(brokers):
        url = urls[i] if i < len(urls) else None
        account = accounts[i] if i < len(accounts) else None
        name: str | None = None
        if broker == "tastytrade":
            k = tasty.index(i)
            name = credentials[k] if k < len(credentials) else None
        try:
            spec = SourceSpec(
                broker=broker, account=account, url=url, credentials=name, seed=seed + i, rate=rate
            )
            if broker == "tastytrade" and login and name is None:
                if not password:
                    fail(
                        "--login needs its password in the environment variable RISKDESK_TASTYTRADE_PASSWORD"
                    )
                from riskdesk.adapters.tastytrade.client import DxlinkSource

                sources.append(
                    DxlinkSource(
                        spec.address or "", account=spec.account_id, credentials=(login, password)
                    )
                )
                continue
            sources.append(build_source(spec))
        except (ValueError, KeyError, SecretsError, SourceUnavailableError) as exc:
            fail(str(exc).strip("'\""))
    return sources


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
    broker: list[str] = typer.Option(
        ["simulated"],
        "--broker",
        help="simulated, tastytrade or ibkr; repeat to stream several brokers in one ingest.",
    ),
    url: list[str] = typer.Option(
        [],
        "--url",
        help="Broker address, paired with --broker in order (tastytrade: http(s)://, ws://; "
        "ibkr: tws://host:port).",
    ),
    account: list[str] = typer.Option(
        [], "--account", help="Account streamed, paired with --broker in order."
    ),
    credentials: list[str] = typer.Option(
        [],
        "--credentials",
        help="Name of tastytrade credentials in the secrets store (default: default), paired "
        "with the tastytrade --broker values in order.",
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the simulated stream."),
    rate: float = typer.Option(100.0, "--rate", min=0.0, help="Simulated ticks per second."),
    duration: float | None = typer.Option(
        None, "--duration", min=0.0, help="Stop after this many seconds (default: until Ctrl-C)."
    ),
    journal_dir: Path | None = JournalDirOption,
    login: str | None = typer.Option(
        None,
        "--login",
        envvar="RISKDESK_TASTYTRADE_LOGIN",
        help="One-off tastytrade login instead of stored --credentials (e.g. a fake broker); "
        "the password comes from RISKDESK_TASTYTRADE_PASSWORD, never the command line.",
    ),
    database_url: str | None = DatabaseUrlOption,
    as_json: bool = JsonOption,
) -> None:
    """Stream into the database in the foreground; print the final counts."""
    folder = journal_dir or default_journal_dir()
    sources = _sources(
        broker,
        urls=url,
        accounts=account,
        credentials=credentials,
        seed=seed,
        rate=rate,
        login=login,
        password=os.environ.get("RISKDESK_TASTYTRADE_PASSWORD"),
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


def _status_data(folder: Path, database_url: str | None) -> tuple[dict[str, Any], bool]:
    """The live status file when its ingest runs, else the latest ``stream_sessions`` rows."""
    live = read_status_file(folder / STATUS_FILE_NAME)
    running = live is not None and live.get("state") == "running" and _alive(folder)
    if live is not None and running:
        return {"source": "status_file", "running": True, "status": live}, True
    with open_db(database_url) as db:
        sessions = latest_sessions(db)
    return {"source": "stream_sessions", "running": False, "sessions": sessions}, False


def _ms(value: object) -> str:
    return "-" if value is None else f"{float(str(value)):.1f}"


def _status_table(data: dict[str, Any], running: bool) -> Table:
    """Per-session state and metrics (live) or the stored session rows (not running)."""
    table = Table(title="stream sessions" + (" (live)" if running else ""))
    if running:
        status = data["status"]
        columns = (
            "broker",
            "account",
            "status",
            "received",
            "journaled",
            "persisted",
            "deduped",
            "rejected",
            "p95 ms",
            "p99 ms",
            "last error",
        )
        for column in columns:
            table.add_column(column, justify="left" if column in ("broker", "account") else "right")
        for s in status["sessions"]:
            m = s["metrics"]
            latency = m["tick_to_durable_ms"]
            table.add_row(
                str(s["broker"]),
                str(s["account_id"]),
                str(s["status"]),
                f"{m['received']:,}",
                f"{m['journaled']:,}",
                f"{m['persisted']:,}",
                f"{m['deduped']:,}",
                f"{m['rejected_total']:,}",
                _ms(latency["p95"]),
                _ms(latency["p99"]),
                str(s.get("last_error") or ""),
            )
        writer = status.get("writer") or {}
        table.caption = (
            f"buffer {writer.get('buffered', 0):,}  journal depth "
            f"{writer.get('journal_depth', 0):,}  latest contracts "
            f"{status.get('latest_contracts', 0):,}  updated {status.get('updated_at')}"
        )
        return table
    for column in ("broker", "account", "status", "received", "rows", "last error"):
        table.add_column(column)
    for s in data["sessions"]:
        table.add_row(
            str(s["broker"]),
            str(s["account_id"]),
            str(s["status"]),
            f"{s.get('messages_received')}",
            f"{s.get('rows_written')}",
            str(s.get("last_error") or ""),
        )
    return table


@app.command("status")
def status_command(
    journal_dir: Path | None = JournalDirOption,
    watch: bool = typer.Option(
        False, "--watch", "-w", help="Keep refreshing the live view until Ctrl-C."
    ),
    interval: float = typer.Option(
        1.0, "--interval", min=0.1, help="Seconds between refreshes with --watch."
    ),
    database_url: str | None = DatabaseUrlOption,
    as_json: bool = JsonOption,
) -> None:
    """The live status of the ingest of the journal directory, else the latest sessions."""
    folder = journal_dir or default_journal_dir()
    data, running = _status_data(folder, database_url)
    if as_json:
        print_json(data)
        return
    if not watch:
        console.print(_status_table(data, running))
        return
    with (
        _until_signal() as stop,
        Live(_status_table(data, running), console=console, auto_refresh=False) as live,
    ):
        while not stop.wait(interval):
            data, running = _status_data(folder, database_url)
            live.update(_status_table(data, running), refresh=True)


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
