"""A chain file imports into an OptionTable: the same quotes and diagnostics as quote objects."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from riskdesk.adapters.files import import_chain
from riskdesk.analytics.diagnostics import snapshot_diagnostics
from riskdesk.bench._market import AS_OF, write_chain
from riskdesk.domain.market import contract_identity
from riskdesk.domain.option_table import OptionTable


def test_import_chain_with_generated_market_chain_holds_sorted_unique_quotes_in_a_table(
    tmp_path: Path,
) -> None:
    path = tmp_path / "chain.csv"
    written = write_chain(path, 2_000, bad_every=500)

    snapshot, report = import_chain(path, as_of=AS_OF)

    assert isinstance(snapshot.options, OptionTable)
    quotes = list(snapshot.options)
    identities = [contract_identity(q.contract) for q in quotes]
    assert identities == sorted(identities)
    assert len(set(identities)) == len(identities) == report.rows_ok
    assert report.rows_read == written == report.rows_ok + report.rows_rejected
    assert report.rows_rejected == len(report.rejected_rows) > 0
    assert {error.column for error in report.errors} >= {"strike", "ask", "contract"}
    assert [e.row for e in report.errors] == sorted(e.row for e in report.errors)
    assert {u.symbol for u in snapshot.underlyings} == {q.contract.underlying for q in quotes}


def test_import_chain_with_generated_market_chain_diagnoses_as_the_quote_objects_do(
    tmp_path: Path,
) -> None:
    path = tmp_path / "chain.csv"
    write_chain(path, 2_000, bad_every=500)

    snapshot, _ = import_chain(path, as_of=AS_OF)
    objects = dataclasses.replace(snapshot, options=tuple(snapshot.options), diagnostics={})

    assert isinstance(snapshot.options, OptionTable)
    assert snapshot.diagnostics == snapshot_diagnostics(objects)
    assert snapshot.diagnostics["options"] == len(snapshot.options)
