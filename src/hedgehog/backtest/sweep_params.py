"""A sweep's `--param` entries for any strategy: `key=v1,v2,...`, each value as given or a range,
read into the values every combination shares and the axes of the grid.

- `key=value`: one value, a fixed setting (`--param lower=0.95`);
- `key=v1,v2,...`: several values, an axis of the grid (`--param levels=3,5,7`);
- `key=A..B`: the whole numbers A to B, both included (`--param levels=3..9`);
- `key=START:STOP:STEP`: START, START+STEP, ... up to STOP included, in exact decimals
  (`--param lower=0.36:0.40:0.01` is 0.36, 0.37, 0.38, 0.39, 0.40, never 0.37000000001).

Items mix (`levels=3,5..7,20`). Nothing here knows a strategy: the values stay text, kept as
written (a range's values in plain notation), and the strategy's `parse_settings` judges them
when the plan is checked (`sweep_plan.check_plan`), exactly as `hedgehog backtest --param` does.
Keys are kept as given, as `backtest` keeps them. Errors are `ConfigError`s naming the entry.

`settings_grid` joins them with naive's own options (`--grid`, `--chunks` ...), which only naive
takes, as `hedgehog backtest` refuses them for another strategy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Context, Decimal, Inexact, InvalidOperation, localcontext

from hedgehog.backtest.sweep_plan import SETTINGS, Grid, Params, parse_fixed, parse_grid
from hedgehog.core.errors import ConfigError

MAX_VALUES = 100_000
"""At most this many values in one entry (ranges included): a typo must not eat the memory."""
MAX_TEXT = 40  # characters of one bound of a range

_WHOLE = re.compile(r"[+-]?\d+")


def settings_grid(
    strategy: str,
    grid_entries: Sequence[str],
    naive_values: Mapping[str, object | None],
    param_entries: Sequence[str],
) -> tuple[Grid, Params, list[str]]:
    """The grid's axes, the fixed settings and the order of the keys (for `plan`) from
    naive's `--grid` and options (`naive_values`: None when not given) and `--param`
    entries, for the strategy named `strategy` (its `name`). A key given two ways, or naive's
    options for another strategy, are a `ConfigError`."""
    flags = {k: v for k, v in naive_values.items() if v is not None}
    if strategy != "naive" and (flags or grid_entries):
        names = ", ".join(["--grid"] * bool(grid_entries) + [f"--{_dashed(k)}" for k in flags])
        raise ConfigError(f"{names}: naive's options; give {strategy}'s with --param key=v1,v2,...")
    axes = parse_grid(grid_entries)
    fixed = parse_fixed(flags)
    param_fixed, param_axes, order = parse_param_entries(param_entries)
    for key in order:
        if key in fixed:
            raise ConfigError(f"{key} given both as --{_dashed(key)} and --param; give it once")
        if key in axes:
            raise ConfigError(f"{key} given both in --grid and --param; give it once")
    if strategy == "naive":
        order = [k for k in SETTINGS if k in {*order, *fixed, *axes}] + order
    return {**axes, **param_axes}, {**fixed, **param_fixed}, order


def _dashed(key: str) -> str:
    return key.replace("_", "-")


def parse_param_entries(
    entries: Sequence[str],
) -> tuple[dict[str, str], dict[str, tuple[str, ...]], list[str]]:
    """`--param` entries as (the fixed settings, the grid's axes, every key in the order
    given). An entry of one value is fixed; of several, an axis (in the order written)."""
    fixed: dict[str, str] = {}
    axes: dict[str, tuple[str, ...]] = {}
    order: list[str] = []
    for entry in entries:
        key, sep, text = entry.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(
                f"--param {entry!r}: expected key=value or key=v1,v2,... (e.g. levels=3,5,7)"
            )
        if key in order:
            raise ConfigError(f"--param {key} given twice")
        values = expand(text, f"--param {entry!r}")
        order.append(key)
        if len(values) == 1:
            fixed[key] = values[0]
        else:
            axes[key] = values
    return fixed, axes, order


def expand(text: str, where: str) -> tuple[str, ...]:
    """The values of `v1,v2,...` (each a value, `A..B` or `START:STOP:STEP`), each once."""
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        raise ConfigError(f"{where}: empty value; give key=v1,v2,...")
    values: list[str] = []
    for item in items:
        here = where if len(items) == 1 else f"{where}: {item!r}"
        if ".." in item:
            got = _whole_range(item, here)
        elif ":" in item:
            got = _step_range(item, here)
        else:
            got = [item]
        if len(values) + len(got) > MAX_VALUES:
            raise ConfigError(f"{where}: more than {MAX_VALUES:,} values")
        values.extend(got)
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ConfigError(f"{where}: {value} is given twice; give each value once")
        seen.add(value)
    return tuple(values)


def _whole_range(item: str, where: str) -> list[str]:
    first, _, last = item.partition("..")
    first, last = first.strip(), last.strip()
    whole = _WHOLE.fullmatch(first) and _WHOLE.fullmatch(last)
    if not whole or max(len(first), len(last)) > MAX_TEXT:
        raise ConfigError(
            f"{where}: A..B takes whole numbers (e.g. 3..9); "
            "for decimals or a step give START:STOP:STEP"
        )
    a, b = int(first), int(last)
    if b < a:
        raise ConfigError(f"{where}: the range ends below its start")
    if b - a + 1 > MAX_VALUES:
        raise ConfigError(f"{where}: {b - a + 1:,} values (at most {MAX_VALUES:,})")
    return [str(n) for n in range(a, b + 1)]


def _step_range(item: str, where: str) -> list[str]:
    parts = [p.strip() for p in item.split(":")]
    if len(parts) != 3:
        raise ConfigError(f"{where}: a range is START:STOP:STEP (e.g. 0.36:0.40:0.01)")
    start, stop, step = (_number(p, where) for p in parts)
    if step <= 0:
        raise ConfigError(f"{where}: the step must be positive")
    if stop < start:
        raise ConfigError(f"{where}: the range ends below its start")
    exact = Context(prec=200, traps=[Inexact, InvalidOperation])
    with localcontext(exact):
        try:
            count = int((stop - start) // step) + 1
            if count > MAX_VALUES:
                raise ConfigError(f"{where}: {count:,} values (at most {MAX_VALUES:,})")
            values = [start + i * step for i in range(count)]
        except (Inexact, InvalidOperation):
            raise ConfigError(f"{where}: not an exact range") from None
    return [_plain(v) for v in values]


def _number(text: str, where: str) -> Decimal:
    try:
        if len(text) > MAX_TEXT:
            raise InvalidOperation
        number = Decimal(text)
    except InvalidOperation:
        raise ConfigError(f"{where}: {text[:MAX_TEXT]!r} is not a number") from None
    if not number.is_finite() or abs(number.adjusted()) > 30:
        raise ConfigError(f"{where}: {text!r} is out of range")
    return number


def _plain(value: Decimal) -> str:
    """A range's value as text, in plain notation (`0.37`, `10`), its exponent kept."""
    return format(value.copy_abs() if value.is_zero() else value, "f")


__all__ = ["MAX_VALUES", "expand", "parse_param_entries", "settings_grid"]
