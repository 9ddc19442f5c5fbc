"""`--strategy` finds shipped names, `package.module:Class` and installed entry points; what
is not a strategy is refused with a message that says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from hedgehog.core.errors import ConfigError
from hedgehog.grid.strategy import GridStrategy
from hedgehog.naive.plugin import NaiveStrategy
from hedgehog.strategy.protocol import Strategy
from hedgehog.strategy.registry import installed, load_strategy, parse_params


def test_shipped_names_and_the_default() -> None:
    assert isinstance(load_strategy(), NaiveStrategy)
    assert isinstance(load_strategy("naive"), NaiveStrategy)
    assert isinstance(load_strategy("grid"), GridStrategy)
    assert isinstance(load_strategy("grid"), Strategy)  # the protocol, checked at run time


def test_a_module_path_names_a_class_or_an_instance() -> None:
    assert isinstance(load_strategy("hedgehog.grid.strategy:GridStrategy"), GridStrategy)
    assert isinstance(load_strategy("hedgehog.grid.strategy:GRID"), GridStrategy)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("martingale", "unknown strategy 'martingale': choose from grid, naive"),
        ("no_such_module_here:Thing", "cannot import no_such_module_here"),
        ("hedgehog.grid.strategy:Nothing", "has no Nothing"),
        ("hedgehog.grid.strategy:", "is not package.module:Class"),
        ("hedgehog.grid.settings:GridSettings", "GridSettings\\(\\) failed: .* missing"),
        ("hedgehog.core.types:ZERO_STATE", "has no ZERO_STATE"),
        ("hedgehog.core.types:Side.BUY", "is not a hedgehog strategy: it lacks parse_settings"),
    ],
)
def test_what_is_not_a_strategy_is_refused(spec: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_strategy(spec)


def test_an_installed_package_registers_a_strategy_by_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real distribution on sys.path (as `pip install` leaves it), not a mock."""
    (tmp_path / "my_grid.py").write_text(
        "from hedgehog.grid.strategy import GridStrategy\n\n"
        "class MyGrid(GridStrategy):\n    name = 'my-grid'\n"
    )
    info = tmp_path / "my_grid-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-grid\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[hedgehog.strategies]\nmy-grid = my_grid:MyGrid\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert installed()["my-grid"] == "my_grid:MyGrid"
    strategy = load_strategy("my-grid")
    assert strategy.name == "my-grid"
    with pytest.raises(ConfigError, match="my-grid"):  # listed among the known ones
        load_strategy("my-gird")


def test_params_are_key_value_pairs() -> None:
    assert parse_params(["levels=5", " lower = 0.4 "]) == {"levels": "5", "lower": "0.4"}
    for bad, says in ((["levels"], "expected key=value"), (["=3"], "expected key=value"),
                      (["a=1", "a=2"], "given twice")):  # fmt: skip
        with pytest.raises(ConfigError, match=says):
            parse_params(bad)
