"""Trader states <-> JSON documents, for `SqlTraderStore`.

Each strategy writes its own states (`Strategy.dump_state` / `load_state`, exact round trips);
the store adds the strategy's name under `"strategy"` (absent: naive, as every document written
before strategies were plug-ins). `state_to_json` / `state_from_json` are the naive format
(`hedgehog.naive.serde`), kept for the callers and rows that predate the plug-ins. A document
that cannot be read raises `CorruptRow`.
"""

from __future__ import annotations

from typing import Any

from hedgehog.core.errors import ConfigError
from hedgehog.naive import serde as naive_serde
from hedgehog.naive.strategy import TraderState
from hedgehog.store.errors import CorruptRow
from hedgehog.strategy.protocol import Strategy
from hedgehog.strategy.registry import DEFAULT, load_strategy

STRATEGY_KEY = "strategy"


def state_to_json(state: TraderState) -> dict[str, Any]:
    """A naive state as a JSON-compatible dict (str, int, bool, None, dicts, lists)."""
    return naive_serde.dump_state(state)


def state_from_json(data: dict[str, Any]) -> TraderState:
    """The naive state `state_to_json` wrote; `CorruptRow` if `data` is not such a document."""
    try:
        return naive_serde.load_state(data)
    except ValueError as exc:
        raise CorruptRow(str(exc)) from None


def strategy_spec(strategy: Strategy) -> str:
    """What `load_strategy` needs to find `strategy` again: its name when that finds an
    object of its class (shipped and entry-point strategies), else `module:Class`."""
    try:
        if type(load_strategy(strategy.name)) is type(strategy):
            return strategy.name
    except ConfigError:
        pass
    cls = type(strategy)
    return f"{cls.__module__}:{cls.__qualname__}"


def dump(strategy: Strategy, spec: str, state: Any) -> dict[str, Any]:
    """`state` as its strategy writes it, with the strategy's name (omitted for naive)."""
    document = dict(strategy.dump_state(state))
    document.pop(STRATEGY_KEY, None)
    if spec != DEFAULT:
        document[STRATEGY_KEY] = spec
    return document


def spec_of(document: object) -> str:
    """The strategy that wrote a stored document (naive when it does not say)."""
    if isinstance(document, dict):
        name = document.get(STRATEGY_KEY)
        if isinstance(name, str) and name:
            return name
    return DEFAULT


def load(document: object) -> Any:
    """A stored document back through its strategy's `load_state`; `CorruptRow` if it cannot
    be read (not a dict, an unknown strategy, a document the strategy refuses)."""
    if not isinstance(document, dict):
        raise CorruptRow(f"not a trader state (a {type(document).__name__}, not an object)")
    spec = spec_of(document)
    try:
        strategy = load_strategy(spec)
    except ConfigError as exc:
        raise CorruptRow(f"written by strategy {spec!r}, which cannot be loaded: {exc}") from None
    data = {k: v for k, v in document.items() if k != STRATEGY_KEY}
    try:
        return strategy.load_state(data)
    except (ValueError, TypeError, KeyError) as exc:
        raise CorruptRow(str(exc) if spec == DEFAULT else f"strategy {spec!r}: {exc}") from None
