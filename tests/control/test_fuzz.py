"""Fuzz the control API with schemathesis against its OpenAPI description: every operation,
valid and invalid requests (with the token), and the node must answer each without a 5xx and
without dropping the connection. The short form runs in CI; `-m slow` runs the long one."""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings

from hedgehog.control.host import extra_routes
from hedgehog.control.openapi import openapi
from hedgehog.control.server import build_app, serve
from hedgehog.live.node import LiveNode
from hedgehog.store import SettingsRepo
from tests.control.conftest import started_node

TOKEN = "fuzz-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
with warnings.catch_warnings():  # schemathesis 3 uses jsonschema's deprecated RefResolver
    warnings.simplefilter("ignore", DeprecationWarning)
    import schemathesis
    from schemathesis import DataGenerationMethod

    SCHEMA = schemathesis.from_dict(
        openapi(),
        data_generation_methods=[DataGenerationMethod.positive, DataGenerationMethod.negative],
    )
    OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


class NodeThread:
    """A node on the simulator with its control API, on an event loop of its own thread (the
    fuzzer's client is synchronous)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.loop = asyncio.new_event_loop()
        self.url = ""
        self.node: LiveNode | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._closers: list[Any] = []

    def __enter__(self) -> NodeThread:
        self._thread.start()
        assert self._ready.wait(30), "the node did not start"
        assert self.node is not None, "the node failed to start"
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
        self.loop.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._start())
        finally:
            self._ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        sim, node, _ = await started_node(self.data_dir)
        self._closers.append(sim.close)
        self._closers.insert(0, node.stop)
        await SettingsRepo(node.db).seed_from_exchange_info(
            {"XRPUSDT": await node.exchange.symbol_filters("XRPUSDT")}
        )
        runner, self.url = await serve(build_app(node, TOKEN, routes=extra_routes(node)))
        self._closers.insert(0, runner.cleanup)
        self.node = node

    async def _stop(self) -> None:
        for close in self._closers:
            await close()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeThread]:
    with NodeThread(tmp_path_factory.mktemp("fuzz")) as running:
        yield running


def fuzz(node: NodeThread, operation: Any, examples: int) -> None:
    http = requests.Session()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        if case.path == "/api/kill":
            case.body = {"process": "no-such-process"} if case.body is None else case.body
            if isinstance(case.body, dict) and not isinstance(case.body.get("process"), str):
                case.body = {**case.body, "process": "no-such-process"}  # never kill by pid
        response = case.call(base_url=node.url, headers=AUTH, session=http, timeout=10)
        assert response.status_code < 500, (case.as_curl_command(), response.text)

    check()
    status = http.get(node.url + "/api/status", headers=AUTH, timeout=10)
    assert status.status_code == 200  # the node is still there


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.verbose_name)
def test_control_api_fuzz(node: NodeThread, operation: Any) -> None:
    fuzz(node, operation, examples=15)


@pytest.mark.slow
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.verbose_name)
def test_control_api_fuzz_long(node: NodeThread, operation: Any) -> None:
    fuzz(node, operation, examples=400)
