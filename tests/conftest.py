"""Shared pytest fixtures and helpers. Add yours with a line saying what each is for."""

from __future__ import annotations

from pathlib import Path

import pytest

# Real market data lives beside the repository (../shared/data) and is not shipped with it.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_data_dir(*needed: str) -> Path:
    """../shared/data (holding the `needed` files), or skip the calling test when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data is absent: {SHARED_DATA} does not exist")
    missing = [name for name in needed if not (SHARED_DATA / name).is_file()]
    if missing:
        pytest.skip(f"../shared/data is absent: {', '.join(missing)} not in {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ../shared/data directory; the test is skipped when it is absent."""
    return shared_data_dir()


@pytest.fixture(autouse=True)
def _private_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test (and every CLI it runs) gets its own HEDGEHOG_DATA_DIR: tests never touch
    the user's database or control files, nor each other's."""
    path = tmp_path_factory.mktemp("hedgehog-data")
    monkeypatch.setenv("HEDGEHOG_DATA_DIR", str(path))
    return path
