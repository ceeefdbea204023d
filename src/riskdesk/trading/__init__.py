"""Paper trading (seeds 001 and 004): orders, fills, risk gates, kill switch, ledger, performance.

The engines are pure (no SQL, no clock, no I/O; times are parameters):

- :mod:`~riskdesk.trading.model`: the shared value types (orders, quotes, fills);
- :mod:`~riskdesk.trading.fills`: the fill model (touch plus slippage, costs, partial fills,
  stops, IOC / FOK / DAY / GTC, multi-leg all-or-none at a net price);
- :mod:`~riskdesk.trading.gates`: the pre-trade risk gates (seed 004's, then seed 001's);
- :mod:`~riskdesk.trading.killswitch`: the kill switch as a state machine with its triggers;
- :mod:`~riskdesk.trading.ledger`: cash and positions, marks, NAV, expiry settlement, exits;
- :mod:`~riskdesk.trading.performance`: returns, risk ratios, drawdowns, tax lots;
- :mod:`~riskdesk.trading.signals`: signals (legs, confidence, expiry, status) and strategy
  templates chosen by delta or strike offset, with the workbench's payoff metrics;
- :mod:`~riskdesk.trading.market`: the venue's view of a snapshot (quotes with displayed
  sizes, legs, Greeks, moves, expiring options).

The use case :mod:`~riskdesk.trading.desk` joins them to the store: accounts, orders through
the kill switch and the gates, fills, the ledger and its reconciliation.
"""
