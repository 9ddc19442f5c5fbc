"""The trade sequencer on its own, no sockets, no sleeps: ids in order published, duplicates
dropped, unwanted symbols ignored, gaps reported with their size, the merge of a rotation's two
sockets (trades of the new one held until the old one catches up, released when it goes), and
properties over random deliveries: one socket, any order; two overlapping sockets, any
interleaving and replays, yield each id once, in order, with gaps that account exactly for the
ids never delivered."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from hedgehog.core.types import TradeEvent
from hedgehog.streamer.sequencer import (
    DUPLICATE,
    HELD,
    IGNORED,
    PUBLISH,
    Gap,
    Sequenced,
    Sequencer,
    Verdict,
)

ONE = Decimal(1)


def trade(trade_id: int, symbol: str = "BTCUSDT") -> TradeEvent:
    return TradeEvent(symbol, trade_id, ONE, ONE, trade_id)


def sequencer(*symbols: str, max_held: int = 10_000) -> Sequencer:
    seq = Sequencer(max_held)
    for symbol in symbols or ("BTCUSDT",):
        seq.add(symbol)
    return seq


class Outcome:
    """What a caller of the sequencer would do: the trades it publishes, the gaps it reports."""

    def __init__(self) -> None:
        self.published: list[TradeEvent] = []
        self.gaps: list[Gap] = []

    def take(self, got: Verdict | Sequenced, trade: TradeEvent | None = None) -> None:
        if got is PUBLISH:
            assert trade is not None
            self.published.append(trade)
        elif isinstance(got, list):
            for item in got:
                if isinstance(item, Gap):
                    self.gaps.append(item)
                else:
                    self.published.append(item)

    def ids(self) -> list[int]:
        return [t.trade_id for t in self.published]


def feed(seq: Sequencer, out: Outcome, ids: list[int], hold_ahead: bool = False) -> None:
    for trade_id in ids:
        t = trade(trade_id)
        out.take(seq.accept(t, hold_ahead), t)


# -- one socket --------------------------------------------------------------------------------
def test_ids_in_order_are_published_as_the_constant_publish() -> None:
    seq = sequencer()
    for trade_id in (7, 8, 9):
        assert seq.accept(trade(trade_id)) is PUBLISH  # the hot path builds nothing
    assert (seq.trades, seq.duplicates, seq.gaps, seq.missed, seq.ignored) == (3, 0, 0, 0, 0)


def test_the_first_trade_of_a_symbol_starts_its_sequence_without_a_gap() -> None:
    seq = sequencer("BTCUSDT", "ETHUSDT")
    assert seq.accept(trade(1000, "BTCUSDT")) is PUBLISH
    assert seq.accept(trade(5, "ETHUSDT")) is PUBLISH  # symbols are sequenced apart
    assert seq.accept(trade(1001, "BTCUSDT")) is PUBLISH
    assert seq.accept(trade(6, "ETHUSDT")) is PUBLISH
    assert seq.gaps == 0 and seq.trades == 4


def test_duplicates_are_dropped() -> None:
    seq = sequencer()
    out = Outcome()
    feed(seq, out, [1, 2, 3])
    for trade_id in (3, 2, 1):
        assert seq.accept(trade(trade_id)) is DUPLICATE
    feed(seq, out, [2, 3, 4, 1, 5])  # a reconnect replays a little of the past
    assert out.ids() == [1, 2, 3, 4, 5]
    assert seq.duplicates == 6 and seq.trades == 5 and seq.gaps == 0


def test_gaps_are_reported_with_their_size_before_the_trade_after_them() -> None:
    seq = sequencer()
    out = Outcome()
    feed(seq, out, [1, 2])
    t5 = trade(5)
    got = seq.accept(t5)
    assert got == [Gap("BTCUSDT", 2, 5), t5]
    assert isinstance(got, list) and isinstance(got[0], Gap) and got[0].missing == 2
    out.take(got)
    feed(seq, out, [6, 10])
    assert out.ids() == [1, 2, 5, 6, 10]
    assert out.gaps == [Gap("BTCUSDT", 2, 5), Gap("BTCUSDT", 6, 10)]
    assert [g.missing for g in out.gaps] == [2, 3]
    assert seq.gaps == 2 and seq.missed == 5


def test_trades_of_unwanted_symbols_are_ignored_and_a_removed_symbol_starts_afresh() -> None:
    seq = sequencer("BTCUSDT")
    assert seq.accept(trade(1, "ETHUSDT")) is IGNORED
    seq.add("ETHUSDT")
    assert seq.accept(trade(10, "ETHUSDT")) is PUBLISH
    seq.remove("ETHUSDT")
    assert seq.accept(trade(11, "ETHUSDT")) is IGNORED  # in flight when we unsubscribed
    seq.add("ETHUSDT")
    assert seq.accept(trade(50, "ETHUSDT")) is PUBLISH  # no gap for what we did not want
    assert seq.ignored == 2 and seq.gaps == 0 and seq.trades == 2
    seq.add("ETHUSDT")  # adding again keeps its sequence
    assert seq.accept(trade(50, "ETHUSDT")) is DUPLICATE


# -- a rotation: two sockets overlap -------------------------------------------------------------
def test_a_rotation_merges_the_two_sockets_by_trade_id() -> None:
    """The scenario of tests/streamer/test_connection.py, without the sockets."""
    seq = sequencer()
    out = Outcome()
    feed(seq, out, [1])  # the old socket, primary
    assert seq.accept(trade(3), hold_ahead=True) is HELD  # the new one runs ahead: held
    assert seq.holding("BTCUSDT") == 1 and seq.trades == 1
    t2 = trade(2)
    got = seq.accept(t2)  # the old one catches up: 2, and the held 3 right after it
    assert got == [t2, trade(3)]
    out.take(got)
    assert seq.accept(trade(2), hold_ahead=True) is DUPLICATE  # from either side
    assert seq.accept(trade(3)) is DUPLICATE
    assert seq.accept(trade(4), hold_ahead=True) is PUBLISH  # the next id, whoever brings it
    out.take(PUBLISH, trade(4))
    assert seq.accept(trade(6), hold_ahead=True) is HELD  # ahead again...
    got = seq.release_all()  # ...and when the old socket goes, released, the gap noted
    assert got == [Gap("BTCUSDT", 4, 6), trade(6)]
    out.take(got)
    assert out.ids() == [1, 2, 3, 4, 6]
    assert (seq.duplicates, seq.gaps, seq.missed, seq.trades) == (2, 1, 1, 5)
    assert seq.holding("BTCUSDT") == 0 and seq.release_all() == []


def test_held_trades_are_released_up_to_the_next_gap_only() -> None:
    seq = sequencer()
    out = Outcome()
    feed(seq, out, [1])
    feed(seq, out, [6, 4, 3, 4], hold_ahead=True)  # unsorted, with a duplicate
    assert seq.holding("BTCUSDT") == 4 and out.ids() == [1]
    feed(seq, out, [2])  # 2 then 3, 4 (the second 4 dropped); 6 waits for 5
    assert out.ids() == [1, 2, 3, 4] and seq.holding("BTCUSDT") == 1
    assert seq.duplicates == 1
    feed(seq, out, [5])
    assert out.ids() == [1, 2, 3, 4, 5, 6] and seq.gaps == 0 and seq.holding("BTCUSDT") == 0


def test_a_primary_gap_releases_what_follows_it() -> None:
    seq = sequencer()
    out = Outcome()
    feed(seq, out, [1])
    feed(seq, out, [5, 6], hold_ahead=True)
    t4 = trade(4)
    got = seq.accept(t4)  # the old socket skips 2 and 3: a gap, then the held 5 and 6
    assert got == [Gap("BTCUSDT", 1, 4), t4, trade(5), trade(6)]


def test_too_many_held_trades_are_released_with_their_gaps() -> None:
    seq = sequencer(max_held=3)
    out = Outcome()
    feed(seq, out, [1])
    feed(seq, out, [3, 4, 6], hold_ahead=True)
    assert out.ids() == [1] and seq.holding("BTCUSDT") == 3
    feed(seq, out, [7], hold_ahead=True)  # a 4th: we stop waiting for the old socket
    assert out.ids() == [1, 3, 4, 6, 7]
    assert out.gaps == [Gap("BTCUSDT", 1, 3), Gap("BTCUSDT", 4, 6)]
    assert seq.holding("BTCUSDT") == 0


def test_held_trades_are_dropped_when_the_new_socket_dies_and_on_remove() -> None:
    seq = sequencer("BTCUSDT", "ETHUSDT")
    out = Outcome()
    feed(seq, out, [1])
    feed(seq, out, [3, 4], hold_ahead=True)
    seq.drop_held()  # the new socket died in the overlap: the old one stays and delivers
    feed(seq, out, [2, 3])
    assert out.ids() == [1, 2, 3] and seq.release_all() == []
    out.take(seq.accept(trade(9, "ETHUSDT")), trade(9, "ETHUSDT"))
    assert seq.accept(trade(11, "ETHUSDT"), hold_ahead=True) is HELD
    seq.remove("ETHUSDT")
    assert seq.holding("ETHUSDT") == 0 and seq.release_all() == []


def test_a_first_trade_is_published_whichever_socket_brings_it() -> None:
    seq = sequencer()
    assert seq.accept(trade(5), hold_ahead=True) is PUBLISH  # nothing to wait for
    assert seq.accept(trade(7), hold_ahead=True) is HELD


# -- properties ----------------------------------------------------------------------------------
def expected_gaps(ids: list[int]) -> list[Gap]:
    return [Gap("BTCUSDT", a, b) for a, b in pairwise(ids) if b != a + 1]


def assert_accounts(out: Outcome, seq: Sequencer, delivered: int) -> None:
    """Published ids increase; the gaps are exactly the holes between them; counters agree."""
    ids = out.ids()
    assert ids == sorted(set(ids))
    assert out.gaps == expected_gaps(ids)
    if ids:
        assert sum(g.missing for g in out.gaps) == ids[-1] - ids[0] + 1 - len(ids)
    assert seq.trades == len(ids) and seq.gaps == len(out.gaps)
    assert seq.missed == sum(g.missing for g in out.gaps)
    assert seq.trades + seq.duplicates == delivered and seq.holding("BTCUSDT") == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 60), max_size=60))
def test_one_socket_publishes_every_id_higher_than_all_before_it(ids: list[int]) -> None:
    seq = sequencer()
    out = Outcome()
    feed(seq, out, ids)
    highest = -1
    expected = []
    for trade_id in ids:
        if trade_id > highest:
            expected.append(trade_id)
            highest = trade_id
    assert out.ids() == expected
    assert_accounts(out, seq, len(ids))


@st.composite
def rotations(draw: st.DrawFn) -> tuple[list[int], list[tuple[bool, int]]]:
    """An increasing id stream (ids missing from it were never delivered by anyone), the part
    of it the old socket delivers (a prefix) and the new one (a suffix, overlapping or right
    after it), each with replays of its own earlier trades, interleaved at random; the old
    socket delivers the first id before the overlap starts."""
    steps = draw(st.lists(st.integers(1, 4), min_size=1, max_size=40))
    stream = [draw(st.integers(0, 1000))]
    for step in steps:
        stream.append(stream[-1] + step)
    old_end = draw(st.integers(1, len(stream)))  # the old one delivers stream[:old_end]
    new_start = draw(st.integers(1, old_end))  # the new one stream[new_start:], no hole
    sockets = []
    for part in (stream[:old_end], stream[new_start:]):
        delivered: list[int] = []
        for trade_id in part:
            delivered.append(trade_id)
            while draw(st.booleans()) and draw(st.booleans()):  # a replay, now and then
                delivered.append(draw(st.sampled_from(delivered)))
        sockets.append(delivered)
    old, new = sockets
    order = draw(st.permutations([False] * (len(old) - 1) + [True] * len(new)))
    merged = [(False, old[0])]
    queues = {False: iter(old[1:]), True: iter(new)}
    merged += [(from_new, next(queues[from_new])) for from_new in order]
    return stream, merged


@settings(max_examples=300, deadline=None)
@given(rotations())
def test_a_rotation_yields_each_id_once_in_order_whatever_the_interleaving(
    case: tuple[list[int], list[tuple[bool, int]]],
) -> None:
    stream, deliveries = case
    seq = sequencer()
    out = Outcome()
    from_the_new_one: list[int] = []
    for from_new, trade_id in deliveries:
        t = trade(trade_id)
        out.take(seq.accept(t, hold_ahead=from_new), t)
        if from_new:
            from_the_new_one.append(trade_id)
        # held: exactly what the new socket brought beyond the next id; nothing that could go
        last = out.ids()[-1]
        assert seq.holding("BTCUSDT") == sum(i > last + 1 for i in from_the_new_one)
    out.take(seq.release_all())  # the new socket is promoted, the old one closed
    assert out.ids() == stream
    assert out.gaps == expected_gaps(stream)
    assert sum(g.missing for g in out.gaps) == stream[-1] - stream[0] + 1 - len(stream)
    assert_accounts(out, seq, len(deliveries))
