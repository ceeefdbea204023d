"""tastytrade adapter: DXLink (dxFeed) streaming Greeks and quotes, REST account positions.

* :mod:`.parsing` -- pure decoding of DXLink messages and COMPACT/FULL feed data, dxFeed
  streamer symbols <-> OCC / :class:`~riskdesk.domain.instruments.OptionContract`, REST
  positions (no I/O, no clock);
* :mod:`.fake` -- :class:`~riskdesk.adapters.tastytrade.fake.FakeDxlinkBroker`, a loopback
  server speaking the tastytrade REST endpoints and the DXLink WebSocket protocol with a
  deterministic synthetic stream (import it from :mod:`.fake`; it pulls in the web stack);
* :mod:`.client` -- :class:`~riskdesk.adapters.tastytrade.client.DxlinkSource`, the tick
  source (REST login, positions and quote token, then the DXLink WebSocket; import it from
  :mod:`.client`: it pulls in websockets and httpx);
* :mod:`.market` -- :class:`~riskdesk.adapters.tastytrade.market.DxlinkMarketSource`, the
  account's market (bids, asks, marks, IVs) as a workbench market source; its collector is
  shared with IBKR's (:mod:`riskdesk.adapters.stream_snapshot`).
"""

from riskdesk.adapters.tastytrade.parsing import (
    DEFAULT_EVENT_FIELDS,
    EVENT_TYPES,
    DxlinkMessage,
    DxlinkParseError,
    FeedEvent,
    FeedFields,
    GreeksEvent,
    QuoteEvent,
    SummaryEvent,
    TastytradePosition,
    TradeEvent,
    contract_to_streamer_symbol,
    decode_feed_data,
    occ_to_streamer_symbol,
    parse_message,
    parse_positions,
    streamer_symbol_to_contract,
    streamer_symbol_to_occ,
)

__all__ = [
    "DEFAULT_EVENT_FIELDS",
    "EVENT_TYPES",
    "DxlinkMessage",
    "DxlinkParseError",
    "FeedEvent",
    "FeedFields",
    "GreeksEvent",
    "QuoteEvent",
    "SummaryEvent",
    "TastytradePosition",
    "TradeEvent",
    "contract_to_streamer_symbol",
    "decode_feed_data",
    "occ_to_streamer_symbol",
    "parse_message",
    "parse_positions",
    "streamer_symbol_to_contract",
    "streamer_symbol_to_occ",
]
