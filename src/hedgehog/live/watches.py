"""What the node's feed processes were told to watch, kept outside the supervision tree.

The observer, the paper feeder and the fill router learn by casts which symbols to follow
(`Watch`, `WatchSymbol`) and, for the fill router, which orders were just placed
(`WatchOrder`). A process restarted by its supervisor starts from `init` with none of
that: the observer would show nothing, the paper exchange would stop matching, the fill
router's poller would stop reconciling, and a fill that happened while it was down would be
lost. So the node notes every such message here, and a restarted feed (`rewatching(cls)`)
sends them to itself again, in order, before it handles anything else.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict, defaultdict
from typing import Any

from hedgehog.core.types import Order
from hedgehog.live.messages import WatchOrder
from hedgehog.runtime import Process

ORDERS_KEPT = 4096  # placed orders remembered for a restarted fill router (the newest)


class Watches:
    """Per registered process name, the last message for each key (a symbol, an order)."""

    def __init__(self) -> None:
        self._by_name: defaultdict[str, OrderedDict[Any, Any]] = defaultdict(OrderedDict)

    def note(self, name: str, key: Any, message: Any, keep: int | None = None) -> None:
        messages = self._by_name[name]
        messages.pop(key, None)
        messages[key] = message
        while keep is not None and len(messages) > keep:
            messages.popitem(last=False)

    def note_order(self, name: str, order: Order) -> None:
        """An order just placed or queried: replayed while it was open when last seen."""
        if order.status.is_open:
            self.note(name, ("order", order.order_id), WatchOrder(order), keep=ORDERS_KEPT)
        else:
            self._by_name[name].pop(("order", order.order_id), None)

    def messages(self, name: str) -> list[Any]:
        return list(self._by_name[name].values())


def rewatching(cls: type[Process], name: str) -> type[Process]:
    """`cls` whose `init(watches, *args)` runs `cls.init(*args)`, then casts to itself every
    message noted for `name`: they are handled right after init, before any new one."""

    def replay(proc: Process, watches: Watches) -> None:
        for message in watches.messages(name):  # queued behind init (and its continue)
            proc.rt.cast(proc, message)

    if inspect.iscoroutinefunction(cls.init):  # the runtime awaits init only when it is async

        class Rewatching(cls):  # type: ignore[valid-type, misc]
            async def init(self, watches: Watches, *args: Any) -> Any:
                result = await super().init(*args)
                replay(self, watches)
                return result

    else:

        class Rewatching(cls):  # type: ignore[valid-type, misc, no-redef]
            def init(self, watches: Watches, *args: Any) -> Any:
                result = super().init(*args)
                replay(self, watches)
                return result

    Rewatching.__name__ = Rewatching.__qualname__ = cls.__name__
    Rewatching.__doc__ = cls.__doc__
    return Rewatching
