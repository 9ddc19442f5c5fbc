"""A node served: the live node started with its control API (and the dashboard's routes on
it), the token and address files written, everything stopped cleanly on the way out. The CLI's
`run` and `demo`, the tests and the benchmarks all start a node through `running_node`."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from hedgehog.config import Settings
from hedgehog.config.token import clear_address, write_address, write_token
from hedgehog.control.server import build_app, serve
from hedgehog.core.errors import ConfigError, UnknownSymbol
from hedgehog.live.node import LiveNode, crash_only
from hedgehog.store import Database

Announce = Callable[[str, str, Path], None]
"""Told the control API's URL, its token and the data dir once the API is up."""


@contextlib.asynccontextmanager
async def running_node(
    settings: Settings,
    *,
    db: Database | None,
    control_port: int = 0,
    filters: Any = None,
    symbols: Sequence[str] = (),
    announce: Announce | None = None,
    node_options: dict[str, Any] | None = None,
) -> AsyncIterator[LiveNode]:
    """A started node with its control API; everything stopped cleanly on the way out.
    `symbols` are checked against the exchange before the control API is announced: a
    symbol it does not list is one error line, never after a dashboard URL. `announce` is
    told where the API listens (the CLI prints the dashboard's link). `node_options` go to
    `LiveNode.create` (e.g. pubsub_url, trades_from)."""
    # takes the store's lock
    node = await LiveNode.create(settings, filters=filters, db=db, **(node_options or {}))
    runner = None
    data_dir = settings.data_dir
    try:
        if db is not None:
            await db.migrate()
        await node.start()
        await node.boot()
        # Everything allocated so far lives as long as the node: take it out of the garbage
        # collector's full passes, which otherwise pause trading for tens of milliseconds.
        gc.freeze()
        await _check_listed(node, symbols)
        token = write_token(data_dir)
        try:
            runner, url = await serve(
                build_app(node, token, extra=_extra(node), routes=extra_routes(node)),
                port=control_port,
            )
        except OSError as exc:
            raise ConfigError(
                f"cannot open the control API on port {control_port}: {exc.strerror or exc}"
            ) from None
        write_address(data_dir, url, os.getpid())
        if announce is not None:
            announce(url, token, data_dir)  # the CLI's: the token only to a terminal
        with crash_only(node):  # the root's death ends the command, non-zero
            yield node
    finally:
        clear_address(data_dir)
        if runner is not None:
            await runner.cleanup()
        await node.stop()


async def _check_listed(node: LiveNode, symbols: Sequence[str]) -> None:
    for symbol in symbols:
        try:
            await node.exchange.symbol_filters(symbol)
        except UnknownSymbol:
            raise ConfigError(f"{symbol} is not traded on the exchange") from None


def _extra(node: LiveNode) -> dict[str, Any]:
    """Sections the status adds: "nats" (connection, counters) when pub/sub is over NATS."""
    return {"nats": node.nats.status} if node.nats is not None else {}


def extra_routes(node: LiveNode) -> list[Any]:
    """Routes other packages add to the control API (the warehouse, the dashboard)."""
    from hedgehog.dashboard import routes as dashboard_routes

    return [*dashboard_routes(node)]
