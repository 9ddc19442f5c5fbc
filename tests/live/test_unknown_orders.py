"""Open orders on the exchange that the store does not know (placed by hand, another bot) are
reported at boot — `hedgehog status` lists them — and left alone, never cancelled."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from hedgehog.core.types import OrderStatus, Side
from tests.control.conftest import started_node


async def test_an_order_placed_by_hand_is_reported_and_left_alone(tmp_path: Path) -> None:
    sim, node, _db = await started_node(tmp_path)
    try:
        await node.start_trading("XRPUSDT")
        by_hand = await node.exchange.place_limit_order(
            "XRPUSDT", Side.BUY, D("0.5"), D("30"), "web_by_hand_1"
        )
        await node.boot()  # what a node does when it starts: find what is not its own
        assert [o["client_order_id"] for o in node.unknown_orders] == ["web_by_hand_1"]
        assert node.unknown_orders[0] | {"order_id": 0} == {
            "symbol": "XRPUSDT",
            "client_order_id": "web_by_hand_1",
            "order_id": 0,
            "side": "BUY",
            "price": "0.5",
            "quantity": "30",
        }
        still = await node.exchange.get_order("XRPUSDT", client_order_id="web_by_hand_1")
        assert still.order_id == by_hand.order_id and still.status == OrderStatus.NEW
        await node.stop_trading("XRPUSDT")  # a symbol that is off is not scanned
        await node.report_unknown_orders()
        assert node.unknown_orders == []
    finally:
        await node.stop()
        await sim.close()
