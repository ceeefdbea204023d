"""Paper trading (seeds 001 and 004): orders, fills, risk gates, kill switch, ledger, performance.

Engines here are pure (no SQL, no clock, no I/O): :mod:`~riskdesk.trading.model` holds the
value types every engine shares.
"""
