"""The data warehouse: optional recorders that store what is published on pub/sub topics.

    warehouse = Warehouse(rt, pubsub, db)              # a migrated hedgehog.store.Database
    node = Node([..., warehouse.child_spec()])
    await warehouse.boot()                             # resume the topics stored as on
    await warehouse.start_recording("TRADE_EVENTS:XRPUSDT")   # trades -> trade_events
    await warehouse.start_recording("ORDERS:XRPUSDT")         # order updates -> orders

Modules: `recorder` (`TradeRecorder`, `OrderRecorder`: batched, bounded, retried writes),
`api` (the `Warehouse` facade and its supervisor), `topics` (what can be recorded), `replay`
(recorded trades back as a `TradeTable`, for `hedgehog backtest --from-db`).
"""

from hedgehog.warehouse.api import RECORDERS, Warehouse, WarehouseContext, recorder_name
from hedgehog.warehouse.recorder import OrderRecorder, RecorderOptions, TradeRecorder
from hedgehog.warehouse.replay import load_recorded, recorded_span
from hedgehog.warehouse.topics import normalize_topic, parse_topic

__all__ = [
    "RECORDERS",
    "OrderRecorder",
    "RecorderOptions",
    "TradeRecorder",
    "Warehouse",
    "WarehouseContext",
    "load_recorded",
    "normalize_topic",
    "parse_topic",
    "recorded_span",
    "recorder_name",
]
