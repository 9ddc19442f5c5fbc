"""The max-loss halt in the naive tree (issue 13): a breach halts the symbol at the trade that
makes it, no buy follows, open buys are cancelled when asked, kills lose nothing of it.

Settings: 10 USDT per trader, buy 1% under the market, rebuy 0.1% under the buy, fee 0.1%,
max_loss 0.1. A trade at 1.0 buys 10.1 at 0.99 (rebuy below 0.98901); held, the PnL at p is
10.1 * 0.999 p - 9.999 * 1.001, below -0.1 for p < (10.008999 - 0.1) / 10.0899 = 0.98205...
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from hedgehog.core.types import OrderStatus, Side
from hedgehog.naive import serde
from hedgehog.naive.context import leader_name, symbol_name

from .conftest import Harness, xrp_settings

S = "XRPUSDT"
NEW, FILLED, CANCELED = OrderStatus.NEW, OrderStatus.FILLED, OrderStatus.CANCELED
BUY, SELL = Side.BUY, Side.SELL
THRESHOLD = (D("1.001") * D("9.999") - D("0.1")) / (D("0.999") * D("10.1"))


def view(h: Harness) -> list[tuple[str, Side, D, OrderStatus]]:
    return [(o.client_order_id, o.side, o.price, o.status) for o in h.ledger()]


async def two_traders(h: Harness, **values: object) -> None:
    """1 holds 10.1 bought at 0.99 (its sell at 0.9929 open); 2 has a buy at 0.979 open."""
    settings = xrp_settings(3, rebuy_interval="0.001", max_loss="0.1", **values)
    await h.naive.start_trading(S, settings)
    await h.rt.quiesce()
    await h.trade("1.0")  # 1 buys at 0.99
    await h.trade("0.99")  # filled: 1 sells at 0.9929
    await h.trade("0.9889")  # below 0.98901: 2 starts
    await h.trade("0.9889")  # 2 buys at floor(0.9889 * 0.99) = 0.979
    assert view(h) == [
        ("XRPUSDT-1-0B", BUY, D("0.99"), FILLED),
        ("XRPUSDT-1-0S", SELL, D("0.9929"), NEW),
        ("XRPUSDT-2-0B", BUY, D("0.979"), NEW),
    ]
    assert h.leader().info()["halted"] is None
    assert h.leader().info()["risk"]["halt_below"] == str(THRESHOLD.quantize(D("1e-8")))


async def test_the_trader_band_stops_at_the_threshold(h: Harness) -> None:
    await two_traders(h)
    # 1 is rebuy-notified (its own band is everything), 2 waits for its buy: both quiet down
    # to the halt threshold and no lower
    for trader in h.traders().values():
        low, _ = trader.trade_band()  # type: ignore[misc]
        assert low == THRESHOLD


async def test_a_breach_halts_the_symbol_and_no_buy_follows(h: Harness) -> None:
    await two_traders(h)
    await h.trade("0.9821")  # at or above the threshold: nothing
    assert h.leader().info()["halted"] is None
    halt = await h.trade("0.982")  # below it: halted at this trade
    info = h.leader().info()
    assert info["halted"] is not None and f"trade {halt.trade_id}" in info["halted"]
    assert info["risk"]["halted"]["price"] == "0.982"
    assert all(t.info()["halted"] for t in h.traders().values())
    # 1's sell fills: its cycle is over, a fresh trader takes its place and never buys
    await h.trade("0.9929")
    await h.trade("1.2")
    await h.trade("1.3")
    assert view(h) == [
        ("XRPUSDT-1-0B", BUY, D("0.99"), FILLED),
        ("XRPUSDT-1-0S", SELL, D("0.9929"), FILLED),
        ("XRPUSDT-2-0B", BUY, D("0.979"), NEW),  # left open (halt_cancels_buys is off)
    ]
    assert h.leader().info()["halted"] is not None  # a halt is never lifted by the tree
    assert D(h.leader().info()["risk"]["realised_pnl"]) > 0  # 1's cycle made a profit


async def test_a_halt_cancels_the_open_buys_when_asked(h: Harness) -> None:
    await two_traders(h, halt_cancels_buys="true")
    await h.trade("0.98")
    assert view(h) == [
        ("XRPUSDT-1-0B", BUY, D("0.99"), FILLED),
        ("XRPUSDT-1-0S", SELL, D("0.9929"), NEW),
        ("XRPUSDT-2-0B", BUY, D("0.979"), CANCELED),
    ]
    two = h.trader("2")
    assert two.state.buy is None and two.state.cycle == 1  # and it buys no more
    await h.trade("0.97")
    await h.trade("1.0")
    assert len(h.ledger()) == 3
    h.by_client_id()


@pytest.mark.parametrize("victim", ["trader", "leader", "symbol"])
async def test_kills_after_the_halt_lose_nothing(h: Harness, victim: str) -> None:
    await two_traders(h)
    await h.trade("0.98")
    assert h.leader().info()["halted"] is not None
    target = {
        "trader": h.trader("1"),
        "leader": h.rt.whereis(leader_name(S)),
        "symbol": h.rt.whereis(symbol_name(S)),
    }[victim]
    assert target is not None
    h.rt.kill(target)
    await h.rt.quiesce()
    assert h.leader().info()["halted"] is not None
    await h.trade("0.9929")  # 1's sell fills; its replacement does not buy
    await h.trade("1.1")
    assert [o.client_order_id for o in h.ledger()] == [
        "XRPUSDT-1-0B",
        "XRPUSDT-1-0S",
        "XRPUSDT-2-0B",
    ]


async def test_the_book_survives_a_kill_before_the_breach(h: Harness) -> None:
    await two_traders(h)
    h.rt.kill(h.rt.whereis(symbol_name(S)))  # type: ignore[arg-type]
    await h.rt.quiesce()
    await h.trade("0.982")  # the restarted traders still know what is held
    assert h.leader().info()["halted"] is not None


async def test_off_by_default(h: Harness) -> None:
    await h.naive.start_trading(S, xrp_settings(3, rebuy_interval="0.001"))
    await h.rt.quiesce()
    await h.trade("1.0")
    await h.trade("0.5")
    info = h.leader().info()
    assert "halted" not in info and "risk" not in info and S not in h.ctx.risk
    assert "halted" not in h.trader("1").info()


def test_stored_states_keep_the_controls_and_older_ones_load_unchanged() -> None:
    from hedgehog.naive.strategy import new_trader

    from .conftest import XRP

    plain = new_trader(S, 1, xrp_settings(), XRP)
    data = serde.dump_state(plain)
    assert "max_loss" not in data["settings"]  # what older versions wrote and read
    assert serde.load_state(data) == plain
    on = new_trader(
        S, 1, xrp_settings(max_loss="5", halt_cancels_buys=True, stop_loss_interval="0.03"), XRP
    )
    assert serde.load_state(serde.dump_state(on)) == on


async def test_new_limits_lift_the_halt_and_the_same_ones_keep_it(h: Harness) -> None:
    await two_traders(h)
    await h.trade("0.98")
    await h.naive.stop_trading(S)
    await h.rt.quiesce()
    await h.naive.start_trading(S, xrp_settings(3, rebuy_interval="0.001", max_loss="0.1"))
    await h.rt.quiesce()
    assert h.leader().info()["halted"] is not None  # the same limits: still halted
    await h.naive.stop_trading(S)
    await h.rt.quiesce()
    await h.naive.start_trading(S, xrp_settings(3, rebuy_interval="0.001", max_loss="1"))
    await h.rt.quiesce()
    assert h.leader().info()["halted"] is None  # a human raised the limit
    await h.trade("0.98")  # PnL about -0.2: above -1
    assert h.leader().info()["halted"] is None


async def test_the_books_tell_a_store_what_changed_outside_its_writes(h: Harness) -> None:
    """`RiskBooks.on_change` (set by `SqlTraderStore.keep_risk` on a live node; never in
    backtests): a halt, new limits and `max_loss` off are told; a trade that halts nothing
    and the book's creation are not (the store writes those with the traders' states)."""
    from hedgehog.naive.risk import RiskBooks

    told: list[tuple[str, object]] = []
    assert isinstance(h.ctx.risk, RiskBooks) and h.ctx.risk.on_change is None
    h.ctx.risk.on_change = lambda symbol, book: told.append(
        (symbol, "off" if book is None else book.halted)
    )
    await two_traders(h)
    await h.trade("0.9821")
    assert told == []
    await h.trade("0.98")
    assert len(told) == 1 and told[0][0] == S and told[0][1] is not None
    await h.naive.stop_trading(S)
    await h.rt.quiesce()
    await h.naive.start_trading(S, xrp_settings(3, rebuy_interval="0.001", max_loss="1"))
    await h.rt.quiesce()
    assert told[1:] == [(S, None)]  # new limits: the halt lifted
    assert h.ctx.risk[S].halted is None
    await h.naive.stop_trading(S)
    await h.rt.quiesce()
    await h.naive.start_trading(S, xrp_settings(3, rebuy_interval="0.001"))
    await h.rt.quiesce()
    assert S not in h.ctx.risk and told[2:] == [(S, "off")]  # forgotten
