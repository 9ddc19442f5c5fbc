"""Finding a live node's process by what a person types: a pid, a registered name
("leader:XRPUSDT") or "trader:SYMBOL:ID". The control API and the dashboard both use it."""

from __future__ import annotations

from typing import Any

from hedgehog.core.errors import HedgehogError
from hedgehog.live.node import LiveNode
from hedgehog.naive.context import leader_name
from hedgehog.naive.leader import traders_of
from hedgehog.runtime import Process
from hedgehog.runtime.process import _label


class UnknownProcess(HedgehogError):
    """No live process answers to the name given (the control API answers 400)."""


def find_process(node: LiveNode, name: Any) -> Process:
    """A process by pid number, registered name ("leader:XRPUSDT") or "trader:SYMBOL:ID"."""
    rt = node.rt
    if isinstance(name, str) and len(name) > 200:
        raise UnknownProcess("a process name is at most 200 characters")
    pid = name if isinstance(name, int) and not isinstance(name, bool) else None
    if isinstance(name, str) and name.isascii() and name.isdigit():  # not "²": int() refuses it
        pid = int(name)
    if pid is not None:
        proc = rt.processes.get(pid)
        if proc is not None:
            return proc
    if isinstance(name, str):
        parts = name.split(":")
        if len(parts) == 3 and parts[0] == "trader":
            leader = rt.whereis(leader_name(parts[1].upper()))
            for trader in traders_of(leader):
                if trader.trader_id == parts[2] and trader.alive:
                    return trader.process
        for registered in rt.registry.names():
            if _label(registered) == name:
                proc = rt.whereis(registered)
                if proc is not None:
                    return proc
    shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:80] + "..."
    raise UnknownProcess(f"no live process {shown} (see `hedgehog status` for names)")
