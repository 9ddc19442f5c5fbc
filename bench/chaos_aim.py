"""Node kills aimed at the dangerous moments of an order's life, besides random ones:

- `intent`: as soon as a new intent row is committed in the store (polled as fast as the
  database answers), i.e. between the intent and the exchange call, or just after the call;
- `ack`: as soon as the exchange accepted an order (`GET /_sim/wait?event=ack` answers then),
  before the node has recorded the answer;
- `fill`: as soon as an order fills (`GET /_sim/wait?event=fill`), before the node has recorded
  the fill and placed the sell;
- `random`: after a random pause.

An aim that sees no such moment within `timeout` seconds kills anyway (counted as timed out).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from chaos_procs import Procs

MOMENTS = ("random", "intent", "ack", "fill")


@dataclass
class Strike:
    moment: str
    killed_at: int  # time_ns of the SIGKILL
    trigger: str | None = None  # the client order id whose moment it was
    timed_out: bool = False


class IntentWatch:
    """Polls the store for intent rows newer than the last one seen (its own connection)."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine, text

        self.engine = create_engine(url)
        self.newest = text(
            "SELECT id, client_order_id FROM orders WHERE intent_committed_at_ns IS NOT NULL "
            "AND id > :after ORDER BY id LIMIT 1"
        )
        self.top = text("SELECT coalesce(max(id), 0) FROM orders")

    def wait_and_kill(self, procs: Procs, timeout: float, stop: threading.Event) -> Strike:
        with self.engine.connect() as conn:
            after = conn.execute(self.top).scalar_one()
            conn.rollback()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not stop.is_set():
                found = conn.execute(self.newest, {"after": after}).first()
                conn.rollback()  # a fresh snapshot next time
                if found is not None:
                    return Strike("intent", procs.sigkill_node(), found[1])
                time.sleep(0.0002)
        return Strike("intent", procs.sigkill_node(), None, timed_out=True)

    def close(self) -> None:
        self.engine.dispose()


async def strike(
    procs: Procs, moment: str, watch: IntentWatch, rng: random.Random, gap: float,
    timeout: float = 10.0,
) -> Strike:  # fmt: skip
    """SIGKILL the node at `moment`; the node is restarted by the caller."""
    if moment == "random":
        await asyncio.sleep(rng.uniform(0, gap * 2))
        return Strike("random", procs.sigkill_node())
    if moment == "intent":
        stop = threading.Event()
        try:
            return await asyncio.to_thread(watch.wait_and_kill, procs, timeout, stop)
        finally:
            stop.set()
    answer: dict[str, Any] = await procs.sim_get(f"/_sim/wait?event={moment}&timeout={timeout}")
    killed = procs.sigkill_node()
    detail = answer.get("detail") or {}
    cid = detail.get("clientOrderId") or detail.get("c")
    return Strike(moment, killed, cid, timed_out=answer.get("event") is None)


def aim_summary(strikes: list[Strike], arrivals: list[dict[str, Any]]) -> dict[str, Any]:
    """Kills per moment; for `intent`, how many landed before the order reached the exchange
    (the node died between its intent and its call: recovery had to place it)."""
    first: dict[str, int] = {}
    for r in arrivals:
        first.setdefault(r["clientOrderId"], r["at_ns"])
    out: dict[str, Any] = {}
    for moment in MOMENTS:
        mine = [s for s in strikes if s.moment == moment]
        entry: dict[str, Any] = {"kills": len(mine), "timed_out": sum(s.timed_out for s in mine)}
        if moment == "intent":
            entry["before_the_call"] = sum(
                1
                for s in mine
                if s.trigger is not None and first.get(s.trigger, s.killed_at + 1) > s.killed_at
            )
        out[moment] = entry
    return out
