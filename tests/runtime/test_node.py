"""Node: the root supervisor on a runtime; start/stop, tree() as data, request_stop and signals."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from typing import Any

import pytest

from hedgehog.runtime import (
    SHUTDOWN,
    ChildSpec,
    Process,
    Runtime,
    Supervisor,
    VirtualClock,
    supervisor_call,
)
from hedgehog.runtime.node import Node

Log = list[Any]


class Kid(Process):
    def init(self, log: Log, id: str) -> None:
        self.id = id
        self.log = log
        log.append(("start", id))

    def handle_cast(self, message: Any) -> None:
        raise RuntimeError(f"{self.id} crashed")

    def terminate(self, reason: Any) -> None:
        self.log.append(("stop", self.id, reason))


def specs(log: Log) -> list[ChildSpec]:
    inner = ChildSpec(
        "inner",
        Supervisor,
        args=([ChildSpec("x", Kid, args=(log, "x")), ChildSpec("y", Kid, args=(log, "y"))],),
        name=("sup", "inner"),
    )
    return [ChildSpec("a", Kid, args=(log, "a"), name="a"), inner, ChildSpec("b", Kid, (log, "b"))]


STOP_ORDER = [("stop", c, SHUTDOWN) for c in ("b", "y", "x", "a")]


async def test_start_and_stop() -> None:
    log: Log = []
    node = Node(specs(log), clock=VirtualClock())
    rt = await node.start()
    assert isinstance(rt, Runtime) and node.rt is rt
    assert log == [("start", c) for c in ("a", "x", "y", "b")]
    assert node.root is not None and rt.whereis("root") is node.root
    log.clear()
    await node.stop()
    assert log == STOP_ORDER
    assert not rt.processes
    assert node.tree() == {"name": "root", "status": "stopped", "children": []}
    await node.stop()  # twice is harmless


async def test_stop_before_start_is_harmless() -> None:
    node = Node([])
    await node.stop()
    node.request_stop()
    assert node.tree()["status"] == "stopped"


async def test_tree_is_data() -> None:
    log: Log = []
    clock = VirtualClock(start=1_700_000_000.0)
    node = Node(specs(log), clock=clock, root_name="app")
    rt = await node.start()
    a = rt.whereis("a")
    assert a is not None
    rt.cast(a, "crash")
    await rt.quiesce()
    await supervisor_call(rt, ("sup", "inner"), "terminate_child", "y")
    tree = node.tree()
    assert json.loads(json.dumps(tree)) == tree  # plain data all the way down
    assert tree["name"] == "app" and tree["kind"] == "supervisor" and tree["status"] == "waiting"
    assert tree["restarts"] == 1
    assert [c["id"] for c in tree["children"]] == ["a", "inner", "b"]
    a_data, inner, b_data = tree["children"]
    assert a_data["restarts"] == 1 and a_data["name"] == "a" and a_data["kind"] == "worker"
    assert a_data["module"] == "Kid" and a_data["started_at"] == clock.time()
    assert inner["name"] == "sup:inner" and inner["kind"] == "supervisor"
    assert [c["id"] for c in inner["children"]] == ["x", "y"]
    assert inner["children"][1] == {"id": "y", "status": "stopped", "restarts": 0}
    assert b_data["name"] is None
    await node.stop()


async def test_request_stop_ends_run() -> None:
    log: Log = []
    node = Node(specs(log), clock=VirtualClock())
    running = asyncio.create_task(node.run(install_signals=False))
    while node.root is None:  # run() starts the node itself
        await asyncio.sleep(0)
    assert node.rt is not None
    await node.rt.quiesce()
    assert not running.done()
    log.clear()
    node.request_stop()
    await running
    assert log == STOP_ORDER
    assert not node.rt.processes


async def test_run_ends_when_the_root_gives_up() -> None:
    log: Log = []
    node = Node(
        [ChildSpec("a", Kid, args=(log, "a"), name="a")],
        clock=VirtualClock(),
        max_restarts=0,
    )
    rt = await node.start()
    running = asyncio.create_task(node.run(install_signals=False))
    await rt.quiesce()
    a = rt.whereis("a")
    assert a is not None
    rt.cast(a, "crash")
    await running
    assert node.root is not None and node.root.exit_reason == SHUTDOWN
    assert not rt.processes


async def test_a_node_on_a_given_runtime(rt: Runtime) -> None:
    log: Log = []
    node = Node(specs(log), runtime=rt)
    assert await node.start() is rt
    assert rt.whereis("root") is node.root
    await node.stop()
    assert not rt.processes


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_stops_the_node_cleanly(sig: signal.Signals) -> None:
    log: Log = []
    node = Node(specs(log), clock=VirtualClock())
    rt = await node.start()
    before = signal.getsignal(sig)
    running = asyncio.create_task(node.run())
    await rt.quiesce()  # run() has installed its handlers and waits
    assert not running.done()
    # never send the signal without the loop's handler in place: it would end the test run
    assert signal.getsignal(sig) is not before
    log.clear()
    os.kill(os.getpid(), sig)
    await asyncio.wait_for(running, 10)  # wall-clock guard only: the signal arrives at once
    assert log == STOP_ORDER
    assert not rt.processes
    # run() removed its handler (asyncio's default for the signal is back, not `before`:
    # under asyncio.Runner that is the runner's own SIGINT handler)
    assert signal.getsignal(sig) in (before, signal.SIG_DFL, signal.default_int_handler)
