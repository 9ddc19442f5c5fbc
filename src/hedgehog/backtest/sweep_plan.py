"""The plan of a sweep: the user's grid and fixed settings read and validated, their cartesian
product, and every combination checked against the strategy and the exchange filters.

All of it is pure and runs before any work starts, so a bad value or a combination below a
symbol's min notional is reported at once, naming the entry at fault. Naive's own options
(`--grid`, `--chunks` ...) are read here through `TradingSettings.parse`; `--param` entries of
any strategy are read by `sweep_params`, and `check_plan` parses every combination with the
strategy's `parse_settings`, the parser the runs use. Values are kept as the user wrote them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hedgehog.core.errors import ConfigError
from hedgehog.core.filters import SymbolFilters
from hedgehog.naive.settings import TradingSettings
from hedgehog.strategy.protocol import Strategy

SETTINGS = ("chunks", "budget", "buy_down_interval", "profit_interval", "rebuy_interval", "fee")
"""The settings a sweep can vary (or fix), in their canonical order."""
MAX_COMBINATIONS = 10_000
"""More combinations than this need an explicit yes (`hedgehog sweep --yes`)."""

Params = dict[str, str]
"""One combination: setting name -> its text (e.g. {"chunks": "5", "fee": "0.001"})."""
Grid = dict[str, tuple[str, ...]]
"""Setting name -> the values to try, in the order given."""

_PLACEHOLDER = "SWEEP"


def parse_grid(entries: Sequence[str]) -> Grid:
    """Read `--grid` entries `name=v1,v2,...` (`-` or `_` in names) into a grid, each value
    validated through `TradingSettings.parse` and kept as given. Raises `ConfigError` naming
    the entry at fault: a bad name or value, a name given twice, a value given twice."""
    grid: Grid = {}
    for entry in entries:
        name, sep, values = entry.partition("=")
        name = name.strip().lower().replace("-", "_")
        if not sep or not name:
            raise ConfigError(f"--grid {entry!r}: expected NAME=V1,V2,... (e.g. chunks=3,5)")
        if name not in SETTINGS:
            raise ConfigError(
                f"--grid {entry!r}: unknown setting {name!r}; choose from {', '.join(SETTINGS)}"
            )
        if name in grid:
            raise ConfigError(f"--grid {entry!r}: {name} is already given by another --grid")
        texts = [v.strip() for v in values.split(",")]
        if not values.strip() or any(not t for t in texts):
            raise ConfigError(f"--grid {entry!r}: empty value; give NAME=V1,V2,...")
        seen: dict[str, str] = {}
        for text in texts:
            _, canonical = _checked(name, text, f"--grid {entry!r}")
            if canonical in seen:
                raise ConfigError(
                    f"--grid {entry!r}: {text} is the same value as {seen[canonical]}; "
                    "give each value once"
                )
            seen[canonical] = text
        grid[name] = tuple(seen.values())
    return grid


def parse_fixed(values: Mapping[str, object | None]) -> Params:
    """The settings every combination shares (None: the default), validated."""
    fixed: Params = {}
    for name, value in values.items():
        if value is None:
            continue
        if name not in SETTINGS:
            raise ConfigError(f"unknown setting {name!r}; choose from {', '.join(SETTINGS)}")
        fixed[name] = _checked(name, value, f"--{name.replace('_', '-')}")[0]
    return fixed


def _checked(name: str, value: object, where: str) -> tuple[str, str]:
    """`value` of setting `name` validated through `TradingSettings.parse`: (its text, as
    given but stripped, which is what the runs parse; its canonical text, which tells equal
    values apart, e.g. 0.0010 and 0.001)."""
    text = str(value).strip()
    try:
        settings = TradingSettings.parse(_PLACEHOLDER, **{name: text})
    except ConfigError as exc:
        raise ConfigError(f"{where}: {str(exc).removeprefix(f'{_PLACEHOLDER}: ')}") from None
    return text, str(settings.as_dict()[name])


def combinations(grid: Mapping[str, Sequence[str]]) -> int:
    """How many combinations the grid makes (1 for an empty grid)."""
    n = 1
    for values in grid.values():
        n *= len(values)
    return n


def plan(
    grid: Mapping[str, Sequence[str]],
    fixed: Mapping[str, str] | None = None,
    order: Sequence[str] = (),
) -> list[Params]:
    """Every combination of the grid's values, each with the fixed settings, as `Params`:
    the keys of `order` first (as listed), then naive's in canonical order, then the rest as
    given. The first grid entry varies slowest. Pure."""
    fixed = dict(fixed or {})
    both = [name for name in grid if name in fixed]
    if both:
        raise ConfigError(
            f"{', '.join(both)} given both as a fixed setting and in --grid; give it once"
        )
    names = list(grid)
    keys = list(dict.fromkeys([*order, *SETTINGS, *fixed, *names]))
    combos: list[Params] = []
    for values in itertools.product(*(grid[n] for n in names)):
        merged = {**fixed, **dict(zip(names, values, strict=True))}
        combos.append({n: merged[n] for n in keys if n in merged})
    return combos


def check_plan(
    combos: Sequence[Params],
    filters: Mapping[str, SymbolFilters],
    shown: Sequence[str] = (),
    strategy: Strategy | None = None,
) -> None:
    """Parse every combination with the strategy (None: naive) for every symbol and check it
    against the symbol's exchange filters (naive: each chunk must reach min notional). Raise
    `ConfigError`: the strategy's own message when every combination fails the same way (a
    fixed setting's fault), else naming the first bad combination (by its `shown` settings,
    all of them when empty) and how many more are bad; or naming two combinations that are
    the same settings (`levels=5,05`)."""
    parse = _parser(strategy)
    checked: dict[tuple[tuple[str, str], ...], str | None] = {}
    same: dict[Any, Params] = {}
    problems: list[tuple[Params, str]] = []
    for params in combos:
        key = tuple(params.items())
        if key in checked:
            problem = checked[key]
        else:
            problem, settings = _problem(params, filters, parse)
            checked[key] = problem
            if settings is not None:
                twin = _remember(same, settings, params)
                if twin is not None:
                    raise ConfigError(
                        f"combinations {describe(twin, shown)} and {describe(params, shown)} "
                        "are the same settings; give each value once"
                    )
        if problem is not None:
            problems.append((params, problem))
    if not problems:
        return
    if len(problems) == len(combos) and len({p for _, p in problems}) == 1:
        raise ConfigError(problems[0][1])
    params, problem = problems[0]
    more = f" (and {len(problems) - 1} more bad combinations)" if len(problems) > 1 else ""
    raise ConfigError(f"combination {describe(params, shown)}: {problem}{more}")


Parse = Callable[[str, Params], Any]


def _parser(strategy: Strategy | None) -> Parse:
    if strategy is None:
        return lambda symbol, params: TradingSettings.parse(symbol, **params)
    return strategy.parse_settings


def _problem(
    params: Params, filters: Mapping[str, SymbolFilters], parse: Parse
) -> tuple[str | None, tuple[Any, ...] | None]:
    """(what is wrong with the combination, or None; its settings of each symbol)."""
    settings = []
    try:
        for symbol, flt in filters.items():
            st = parse(symbol, params)
            st.check_against(flt)
            settings.append(st)
    except ConfigError as exc:
        return str(exc), None
    except Exception as exc:  # a user's strategy: say what it raised, not a traceback
        return f"{type(exc).__name__}: {exc}", None
    return None, tuple(settings)


def _remember(same: dict[Any, Params], settings: tuple[Any, ...], params: Params) -> Params | None:
    """The combination seen before with equal settings, or None (settings that cannot be
    hashed are not compared)."""
    try:
        twin = same.setdefault(settings, params)
    except TypeError:
        return None
    return None if twin is params else twin


def describe(params: Mapping[str, str], names: Sequence[str] = ()) -> str:
    """`name=value, ...` of `names` (all of them when empty)."""
    shown = list(names) or list(params)
    return ", ".join(f"{n}={params[n]}" for n in shown if n in params) or "default settings"


__all__ = [
    "MAX_COMBINATIONS",
    "SETTINGS",
    "Grid",
    "Params",
    "check_plan",
    "combinations",
    "describe",
    "parse_fixed",
    "parse_grid",
    "plan",
]
