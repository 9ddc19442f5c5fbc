"""Finding a strategy by what a user types after `--strategy`:

- a shipped name: "naive" (the book's, the default) or "grid";
- `package.module:Name`, where Name is a `Strategy` class (instantiated without arguments)
  or instance, installed or in the current directory (as `python -m` would find it);
- a name an installed package registers under the entry-point group `hedgehog.strategies`
  (in its pyproject.toml: `[project.entry-points."hedgehog.strategies"] mine = "pkg.mod:Mine"`).

Errors are `ConfigError`s that say what was tried and what exists. Shipped strategies are
named by module path too, so this module imports none of them (they sit in higher layers).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

from hedgehog.core.errors import ConfigError
from hedgehog.strategy.protocol import Strategy

GROUP = "hedgehog.strategies"
DEFAULT = "naive"
SHIPPED = {
    "naive": "hedgehog.naive.plugin:NaiveStrategy",
    "grid": "hedgehog.grid.strategy:GridStrategy",
}
_loaded: dict[str, Strategy] = {}


def installed() -> dict[str, str]:
    """Strategies registered by installed packages: name -> `module:attribute`."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def load_strategy(spec: str | None = None) -> Strategy:
    """The strategy `spec` names (see the module's docstring); the default when None."""
    spec = (spec or DEFAULT).strip()
    cached = _loaded.get(spec)
    if cached is not None:
        return cached
    target = SHIPPED.get(spec) or installed().get(spec)
    if target is None and ":" in spec:
        target = spec
    if target is None:
        known = ", ".join(sorted({*SHIPPED, *installed()}))
        raise ConfigError(
            f"unknown strategy {spec!r}: choose from {known}, or give package.module:Class"
        )
    strategy = _instantiate(spec, _import(spec, target))
    _loaded[spec] = strategy
    return strategy


def _import(spec: str, target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"strategy {spec!r}: {target!r} is not package.module:Class")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())  # a module of the user's project, as `python -m` finds it
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"strategy {spec!r}: cannot import {module_name} ({exc})") from None
    obj: Any = module
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"strategy {spec!r}: {module_name} has no {attribute}") from None
    return obj


def _instantiate(spec: str, obj: Any) -> Strategy:
    if isinstance(obj, type):
        try:
            obj = obj()
        except Exception as exc:  # a user's class: say which and why
            raise ConfigError(f"strategy {spec!r}: {obj.__name__}() failed: {exc}") from None
    missing = _missing(obj, _REQUIRED)
    if missing:
        raise ConfigError(
            f"strategy {spec!r} is not a hedgehog strategy: it lacks {', '.join(missing)} "
            "(see docs/strategies.md)"
        )
    if not isinstance(getattr(obj, "name", None), str) or not obj.name:
        raise ConfigError(f"strategy {spec!r} must have a non-empty `name` string")
    return obj  # type: ignore[no-any-return]


_REQUIRED = (
    "parse_settings",
    "missing_slots",
    "replacement",
    "extra_trader",
    "new_trader",
    "on_trade",
    "on_update",
    "on_order",
    "on_rejected",
    "on_fills",
    "on_sell_check",
    "trade_band",
    "may_stop",
    "describe",
    "dump_state",
    "load_state",
)


def _missing(obj: Any, names: Iterable[str]) -> list[str]:
    return [n for n in names if not callable(getattr(obj, n, None))]


def parse_params(pairs: Iterable[str]) -> dict[str, str]:
    """`--param key=value` options as a dict; a `ConfigError` for a malformed or repeated one."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--param {pair!r}: expected key=value")
        if key in params:
            raise ConfigError(f"--param {key} given twice")
        params[key] = value.strip()
    return params


__all__ = ["DEFAULT", "GROUP", "SHIPPED", "installed", "load_strategy", "parse_params"]
