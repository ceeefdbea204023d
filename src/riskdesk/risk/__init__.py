"""Portfolio risk (seed 002 with seed 001's risk measures).

Books, exposures, factors, VaR, stress, what-if sessions and the daily batch. Engines here are
pure (no SQL, no HTTP); use cases and routes call them.
"""
