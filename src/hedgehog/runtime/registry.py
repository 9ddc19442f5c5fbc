"""Unique process names: any hashable (a string, or a tuple such as ("leader", "XRPUSDT")).

A name is freed the moment its process exits, so the registry never grows with names that were
used once (the book's dynamically created atoms leak; these don't).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import TYPE_CHECKING

from hedgehog.runtime.errors import AlreadyRegistered

if TYPE_CHECKING:
    from hedgehog.runtime.process import Process


class Registry:
    def __init__(self) -> None:
        self._names: dict[Hashable, Process] = {}

    def register(self, name: Hashable, proc: Process) -> None:
        owner = self._names.get(name)
        if owner is not None and owner.alive:
            raise AlreadyRegistered(name, owner)
        if proc.name is not None and proc.name != name:
            raise ValueError(f"{proc!r} already has the name {proc.name!r}")
        self._names[name] = proc
        proc.name = name

    def unregister(self, name: Hashable) -> None:
        proc = self._names.pop(name, None)
        if proc is not None:
            proc.name = None

    def whereis(self, name: Hashable) -> Process | None:
        proc = self._names.get(name)
        return proc if proc is not None and proc.alive else None

    def names(self) -> Iterator[Hashable]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)
