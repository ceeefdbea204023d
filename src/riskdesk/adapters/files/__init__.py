"""Files in and out: option chains and underlying quotes as CSV or Parquet.

* :func:`import_chain` -- read a chain (and optionally underlying quotes) into a
  :class:`~riskdesk.domain.market.MarketSnapshot` plus an :class:`ImportReport` of the rows
  kept and rejected (with reasons); a chain with no good option row raises
  :class:`NoRowsImportedError`;
* :func:`export_chain` -- write a snapshot in the canonical layout that
  :func:`import_chain` reads back.

A chain file as a :class:`~riskdesk.domain.sources.MarketSource` is
:class:`riskdesk.adapters.files.chains.ChainFileSource`.

Columns are documented in :mod:`riskdesk.adapters.files.chains` and ``docs/market-data.md``.
"""

from riskdesk.adapters.files.chains import (
    OPTION_COLUMNS,
    UNDERLYING_COLUMNS,
    ChainFileSource,
    ChainImportError,
    NoRowsImportedError,
    import_chain,
    import_underlyings,
)
from riskdesk.adapters.files.export import export_chain
from riskdesk.adapters.files.parsing import ImportReport, RowError

__all__ = [
    "OPTION_COLUMNS",
    "UNDERLYING_COLUMNS",
    "ChainFileSource",
    "ChainImportError",
    "ImportReport",
    "NoRowsImportedError",
    "RowError",
    "export_chain",
    "import_chain",
    "import_underlyings",
]
