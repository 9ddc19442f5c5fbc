"""Client order ids are built in one place and read in one place: what is built parses back."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from hedgehog.core import client_ids
from hedgehog.core.types import Side

ALLOWED = re.compile(r"[A-Za-z0-9_-]{1,36}")
symbols = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=20)
trader_ids = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}[a-z0-9]|[a-z0-9]", fullmatch=True)


@given(symbols, trader_ids, st.integers(0, 10**6), st.sampled_from(Side), st.integers(0, 99))
def test_every_built_id_parses_back(
    symbol: str, trader: str, cycle: int, side: Side, attempt: int
) -> None:
    cid = client_ids.build(symbol, trader, cycle, side, attempt)
    assert ALLOWED.fullmatch(cid)
    parsed = client_ids.parse(cid)
    assert parsed is not None
    assert (parsed.trader_id, parsed.cycle, parsed.side, parsed.attempt) == (
        trader,
        cycle,
        side,
        attempt,
    )
    assert client_ids.trader_of(cid) == trader
    # a cycle's buy and every attempt of its sell share one key; the next cycle does not
    buy = client_ids.build(symbol, trader, cycle, Side.BUY)
    assert client_ids.cycle_key(cid) == client_ids.cycle_key(buy)
    assert client_ids.cycle_key(buy) != client_ids.cycle_key(
        client_ids.build(symbol, trader, cycle + 1, Side.BUY)
    )


def test_a_buy_and_its_re_attempted_sell_share_a_key_across_the_digest_boundary() -> None:
    """Found by hypothesis: the buy fits in 36 characters with its symbol, the sell's longer
    tail does not and carries the digest; they are still one cycle."""
    buy = client_ids.build("0" * 20, "0" * 10, 100, Side.BUY)
    sell = client_ids.build("0" * 20, "0" * 10, 100, Side.SELL, 1)
    assert buy.startswith("0" * 20) and not sell.startswith("0" * 20)
    assert client_ids.cycle_key(buy) == client_ids.cycle_key(sell)


def test_a_long_symbol_is_replaced_by_its_digest() -> None:
    cid = client_ids.build("A" * 30, "run7-12", 3, Side.SELL, 2)
    assert cid.endswith("-run7-12-3S2") and len(cid) <= client_ids.MAX_CLIENT_ID
    assert client_ids.trader_of(cid) == "run7-12"


def test_ids_not_ours_are_not_parsed() -> None:
    for cid in ("manual", "web_abc123", "X-1-B", "XRPUSDT-7-0X", "XRPUSDT-7-S", "-7-0B"):
        assert client_ids.parse(cid) is None, cid
        assert client_ids.trader_of(cid) == ""
        assert client_ids.cycle_key(cid) == cid  # a foreign order is a cycle of its own
