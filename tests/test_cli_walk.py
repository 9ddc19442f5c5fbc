"""A walk over the whole command line: every command and option has help text, the commands
that print data can print JSON, and bad values (ports out of range, negative counts and
durations, unknown levels, missing or unreadable files, unlisted symbols) are one error line
with exit 2, never a traceback. Only inputs that fail before a node starts or the network is
reached are used."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from hedgehog.cli import app

CMD = [sys.executable, "-m", "hedgehog"]
# commands that print data, and how: an option --json, or JSON always (the control API's answers)
WITH_JSON_OPTION = {"backtest", "sweep", "status", "settings show", "settings set",
                    "data import", "data catalog"}  # fmt: skip
ALWAYS_JSON = {"trade start", "trade stop", "trade shutdown", "stream start", "stream stop",
               "warehouse start", "warehouse stop", "kill"}  # fmt: skip
NO_DATA = {"console", "dashboard", "data download", "data exchange-info", "demo", "run",
           "exchange serve", "settings seed", "version"}  # fmt: skip


def _commands() -> Iterator[tuple[str, Any]]:
    root = typer.main.get_command(app)

    def walk(command: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        if hasattr(command, "list_commands"):
            ctx = typer.Context(command)
            for name in command.list_commands(ctx):
                yield from walk(command.get_command(ctx, name), [*path, name])
        else:
            yield " ".join(path), command

    yield "", root
    yield from walk(root, [])


COMMANDS = dict(_commands())
NUMERIC = ("int", "float")


def test_every_command_is_known_to_this_walk() -> None:
    assert set(COMMANDS) - {""} == WITH_JSON_OPTION | ALWAYS_JSON | NO_DATA


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_and_option_has_help(name: str) -> None:
    command = COMMANDS[name]
    assert (command.help or "").strip(), f"`hedgehog {name}` has no help text"
    for param in command.params:
        assert (getattr(param, "help", None) or "").strip(), f"{name} {param.name}: no help"


@pytest.mark.parametrize("name", sorted(WITH_JSON_OPTION))
def test_data_commands_have_json(name: str) -> None:
    assert any("--json" in getattr(p, "opts", ()) for p in COMMANDS[name].params), name


def _numeric_options() -> Iterator[tuple[str, str]]:
    for name, command in COMMANDS.items():
        for param in command.params:
            annotation = str(getattr(param, "type_descriptor", None))
            numeric = any(f"<class '{kind}'>" in annotation for kind in NUMERIC)
            if param.param_type_name == "option" and numeric:
                yield name, param.opts[0]


def _invoke(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    if result.exception and not isinstance(result.exception, SystemExit):
        text += f"\nTraceback: {result.exception!r}"
    return result.exit_code, text


def _assert_refused(args: list[str], code: int, text: str) -> None:
    assert "Traceback" not in text, (args, text)
    assert code == 2, (args, code, text)


@pytest.mark.parametrize("name,option", sorted(_numeric_options()))
def test_every_numeric_option_refuses_a_word(name: str, option: str) -> None:
    args = [*name.split(), option, "many"]
    _assert_refused(args, *_invoke(args))


def test_numeric_options_are_found() -> None:
    assert ("run", "--control-port") in set(_numeric_options())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BAD_VALUES = [
    ["--log-level", "LOUD", "version"],
    ["exchange", "serve", "--port", "99999"],
    ["exchange", "serve", "--port", "-1"],
    ["run", "--control-port", "-1"],
    ["run", "--control-port", "65536"],
    ["run", "--duration", "-1"],
    ["demo", "--duration", "-1"],
    ["demo", "--speed", "-1"],
    ["run", "--symbols", "XRP USDT!"],
    ["run", "--exchange", "kraken"],
    ["run", "--symbols", "XRPUSDT", "--budget", "-5", "--exchange-info", "{info}"],
    ["run", "--symbols", "XRPUSDT", "--chunks", "-1", "--exchange-info", "{info}"],
    ["run", "--exchange-info", "{missing}"],
    ["run", "--exchange-info", "{unreadable}"],
    ["backtest", "{missing}"],
    ["backtest", "{unreadable}"],
    ["sweep", "{missing}"],
    ["run", "--exchange-info", "{folder}"],
    ["backtest", "{folder}"],
    ["settings", "seed", "--exchange-info", "{folder}"],
    ["exchange", "serve", "--exchange-info", "{folder}"],
    ["settings", "set", "XRPUSDT", "--budget", "-5"],
    ["settings", "set", "XRPUSDT", "--chunks", "-1"],
    ["settings", "set", "XRPUSDT", "--exchange-info", "{missing}"],
    ["settings", "seed", "--exchange-info", "{missing}"],
    ["settings", "seed", "--exchange-info", "{unreadable}"],
    ["exchange", "serve", "--exchange-info", "{missing}"],
    ["data", "download", "XRPUSDT", "--from", "yesterday"],
    ["data", "download", "XRPUSDT", "--concurrency", "-1"],
    ["data", "download", "XRPUSDT", "--from", "2024-01-01", "--retries", "-1"],
    ["data", "download", "XRPUSDT", "--from", "2024-01-01", "--concurrency", "0"],
    ["backtest", "--synthetic", "XRPUSDT", "--trades", "-1"],
    ["backtest", "--synthetic", "XRPUSDT", "--trades", "100", "--chunks", "-1"],
    ["backtest", "--synthetic", "XRPUSDT", "--trades", "100", "--budget", "-5"],
    ["backtest", "--synthetic", "XRPUSDT", "--trades", "100", "--chaos-kills", "-1"],
    ["backtest", "--synthetic", "XRPUSDT", "--chaos-targets", "x", "--chaos-kills", "1"],
    ["sweep", "--synthetic", "XRPUSDT", "--trades", "100", "--workers", "-1"],
    ["sweep", "--synthetic", "XRPUSDT", "--trades", "100", "--top", "-1"],
    ["sweep", "--synthetic", "XRPUSDT", "--trades", "100", "--sort", "nope"],
    ["sweep", "--synthetic", "XRPUSDT", "--trades", "100", "--grid", "foo=1"],
    ["exchange", "serve", "--synthetic", "XRPUSDT", "--speed", "-1"],
    ["exchange", "serve", "--synthetic", "XRPUSDT", "--ping-interval", "-1"],
    ["exchange", "serve", "--synthetic", "XRPUSDT", "--weight-limit", "-1"],
    ["run", "--symbols", "XRPUSDT", "--fee", "-1"],
]


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    from hedgehog.market.synthetic import synthetic_exchange_info

    monkeypatch.setenv("HEDGEHOG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("HEDGEHOG_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    info = tmp_path / "info.json"
    info.write_text(json.dumps(synthetic_exchange_info(["XRPUSDT"], "0.0001", "0.1")))
    unreadable = tmp_path / "unreadable.json"
    unreadable.write_text("{}")
    unreadable.chmod(0)
    return {"info": str(info), "folder": str(tmp_path), "missing": str(tmp_path / "nope.csv"),
            "unreadable": str(unreadable)}  # fmt: skip


@pytest.mark.parametrize("args", BAD_VALUES, ids=" ".join)
def test_a_bad_value_is_one_line_and_exit_2(args: list[str], files: dict[str, str]) -> None:
    if "{unreadable}" in args and os.access(files["unreadable"], os.R_OK):
        pytest.skip("running as root: an unreadable file is still readable")
    filled = [a.format(**files) for a in args]
    _assert_refused(filled, *_invoke(filled))


def test_run_with_an_unlisted_symbol_fails_before_any_url(tmp_path: Path) -> None:
    """The symbol is checked against the exchange's filters before the control API (and
    the dashboard URL) is announced. Streams point at a closed port: no network."""
    from hedgehog.market.synthetic import synthetic_exchange_info

    info = tmp_path / "info.json"
    info.write_text(json.dumps(synthetic_exchange_info(["XRPUSDT"], "0.0001", "0.1")))
    closed = f"127.0.0.1:{_free_port()}"
    env = {**os.environ, "HEDGEHOG_DATA_DIR": str(tmp_path / "data"), "NO_COLOR": "1"}
    env.pop("HEDGEHOG_DATABASE_URL", None)
    args = ["run", "--symbols", "FOOUSDT", "--exchange-info", str(info), "--no-view",
            "--rest-url", f"http://{closed}", "--stream-url", f"ws://{closed}"]  # fmt: skip
    result = subprocess.run(
        [*CMD, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == 2, result.stderr
    assert "FOOUSDT is not traded" in result.stderr
    assert "http://" not in result.stderr.replace(f"http://{closed}", "")
    assert "control API" not in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_settings_set_and_show_print_json(files: dict[str, str]) -> None:
    code, text = _invoke(["settings", "seed", "--exchange-info", files["info"]])
    assert code == 0, text
    code, text = _invoke(["settings", "set", "XRPUSDT", "--budget", "200", "--json"])
    assert code == 0, text
    assert json.loads(text)["budget"] == "200"
    code, text = _invoke(["settings", "show", "XRPUSDT", "--json"])
    assert code == 0, text
    (row,) = json.loads(text)
    assert row["symbol"] == "XRPUSDT" and row["budget"] == "200"
