"""Reproduce the dashboard screenshots in docs/ (dashboard.png, dashboard-symbol.png).

    python docs/screenshots.py [--seconds 40] [--out docs]

Starts the local exchange simulator with a synthetic market, a node trading three symbols
through it (in this process, over loopback), lets it trade for a while, then opens the
dashboard in headless Chromium (Playwright's Python API driving the system's Chromium:
`apt-get install chromium`, `pip install playwright`; no browser download) and takes:

- dashboard.png:         the tree with a trader selected (its state and orders), node overview
- dashboard-symbol.png:  a symbol's view: price chart with our fills, PnL, traders, orders
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
from pathlib import Path

from hedgehog.config import Settings
from hedgehog.control.server import build_app, serve
from hedgehog.dashboard import routes
from hedgehog.live.node import LiveNode
from hedgehog.naive.context import leader_name
from hedgehog.naive.settings import TradingSettings
from hedgehog.simulator import start_simulator
from hedgehog.store import Database

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SYMBOLS = ("XRPUSDT", "ETHUSDT", "BNBUSDT")
TOKEN = "screenshot-token"


async def main(seconds: float, out: Path, speed: float) -> None:
    from playwright.async_api import async_playwright

    executable = shutil.which("chromium") or CHROMIUM
    sim = await start_simulator(synthetic=list(SYMBOLS), speed=speed, seed=7)
    scratch = tempfile.TemporaryDirectory(prefix="hedgehog-shots-")
    data = Path(scratch.name)
    settings = Settings(
        exchange="binance",
        rest_url=sim.url,
        stream_url=sim.ws_url,
        ws_api_url=sim.ws_api_url,
        binance_api_key=sim.api_key,  # type: ignore[arg-type]
        binance_api_secret=sim.api_secret,  # type: ignore[arg-type]
        data_dir=data,
    )
    db = Database(None, data)
    await db.migrate()
    node = await LiveNode.create(settings, db=db)
    runner = None
    try:
        await node.start()
        for symbol in SYMBOLS:
            await node.start_trading(symbol, TradingSettings.parse(symbol, budget="200", chunks=5))
        runner, url = await serve(build_app(node, TOKEN, routes=routes(node)))
        print(f"dashboard: {url}/?token={TOKEN}; trading for {seconds:.0f} s ...")
        await asyncio.sleep(seconds)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable, args=ARGS)
            page = await browser.new_page(
                viewport={"width": 1600, "height": 1000}, device_scale_factor=1
            )
            await page.goto(f"{url}/?token={TOKEN}")
            await page.wait_for_selector("#tree .row")
            await page.wait_for_function("document.getElementById('conn').dataset.state === 'live'")
            # the symbol with the most completed cycles, and a trader of it holding a sell
            observer = node.observer()
            views = observer.views if observer is not None else {}
            symbol = max(SYMBOLS, key=lambda s: views[s].cycles if s in views else -1)
            leader = node.rt.whereis(leader_name(symbol))
            slots = getattr(leader, "slots", {})
            trader = max(slots, key=lambda t: slots[t].state.sell is not None, default=None)
            if trader is not None:
                await page.click(f'#tree .row[data-key="trader:{symbol}:{trader}"]')
                await page.wait_for_selector("[data-testid=trader-state]")
            await page.wait_for_timeout(1500)
            await page.screenshot(path=str(out / "dashboard.png"))
            if trader is not None:
                await page.click("#proc-actions .close")
            await page.click(f'#tabs button[data-tab="{symbol}"]')
            await page.wait_for_selector("#price-chart")
            await page.wait_for_timeout(2500)
            await page.screenshot(path=str(out / "dashboard-symbol.png"), full_page=True)
            await browser.close()
        print(f"wrote {out / 'dashboard.png'} and {out / 'dashboard-symbol.png'}")
    finally:
        if runner is not None:
            await runner.cleanup()
        await node.stop()
        await sim.close()
        scratch.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Reproduce the dashboard screenshots in docs/.")
    parser.add_argument("--seconds", type=float, default=60.0, help="trading time before shots")
    parser.add_argument("--speed", type=float, default=5.0, help="market pace (x 10 trades/s)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    options = parser.parse_args()
    asyncio.run(main(options.seconds, options.out, options.speed))
