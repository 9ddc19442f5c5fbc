"""The web observer: the node's live tree, each process's state, each symbol's chart, PnL,
orders and controls, served by the node on its control API (see `hedgehog.dashboard.server`).

The page is plain HTML, CSS and native JavaScript modules in `static/` (no build step, nothing
fetched from the internet; see `page`); its data comes from a Server-Sent Events stream of
shared snapshots (`hub`), described by `snapshot` and `orders`.
"""

from hedgehog.dashboard.server import Dashboard, Hub, routes

__all__ = ["Dashboard", "Hub", "routes"]
