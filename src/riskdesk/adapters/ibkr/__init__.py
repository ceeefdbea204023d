"""IBKR adapter: TWS / IB Gateway through ``ib_async`` (positions and option model Greeks).

* :mod:`.parsing` -- pure mapping of ``ib_async`` contracts, positions and option
  computations (TWS's "not computed" sentinels as missing values) to riskdesk's contracts,
  :class:`~riskdesk.streaming.normalize.PositionUpdate` and
  :class:`~riskdesk.streaming.normalize.GreeksTick` (no I/O, no clock);
* :mod:`.fake` -- :class:`~riskdesk.adapters.ibkr.fake.FakeTwsBroker`, a loopback server
  speaking the TWS API socket protocol with a deterministic synthetic stream (import it from
  :mod:`.fake`);
* :mod:`.client` -- :class:`~riskdesk.adapters.ibkr.client.IbkrSource`, the tick source
  (``ib_async`` in a private event loop; import it from :mod:`.client`);
* :mod:`.market` -- :class:`~riskdesk.adapters.ibkr.market.IbkrMarketSource`, the account's
  market as a workbench market source (import it from :mod:`.market`).
"""

from riskdesk.adapters.ibkr.parsing import (
    BROKER,
    UNSET_DOUBLE,
    ComputationValues,
    IbkrParseError,
    RawComputation,
    computation_raw,
    computation_values,
    contract_to_ib_option,
    decode_tick_option_computation,
    greeks_tick,
    ib_contract_to_contract,
    ib_contract_to_occ,
    is_option_contract,
    occ_to_ib_option,
    position_update,
    raw_computation_values,
)

__all__ = [
    "BROKER",
    "UNSET_DOUBLE",
    "ComputationValues",
    "IbkrParseError",
    "RawComputation",
    "computation_raw",
    "computation_values",
    "contract_to_ib_option",
    "decode_tick_option_computation",
    "greeks_tick",
    "ib_contract_to_contract",
    "ib_contract_to_occ",
    "is_option_contract",
    "occ_to_ib_option",
    "position_update",
    "raw_computation_values",
]
