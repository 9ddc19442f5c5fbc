"""The dashboard in a real headless Chromium (Playwright's Python API, the system's Chromium):
the live tree, a trader's state, killing it from the page (it comes back with the same id and
state), a symbol's chart (the bars of the trades fed) and controls, its settings with the
server's validation message.

Skipped when Playwright or Chromium is absent (CI installs both: `apt-get install chromium`,
`pip install playwright`; Playwright's own browser download is never used)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.dashboard.conftest import SYMBOL, Rig
from tests.helpers import eventually

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="the browser tests need `pip install playwright`"
)
CHROMIUM = os.environ.get("HEDGEHOG_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(
        "the browser tests need Chromium (`apt-get install chromium`)", allow_module_level=True
    )
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TRADER = f"trader:{SYMBOL}:t1"
WAIT = 10_000  # ms


class Browser:
    def __init__(self, page: Any, problems: list[str]) -> None:
        self.page, self.problems = page, problems

    async def open(self, rig: Rig, hash_: str = "") -> None:
        await self.page.goto(rig.page_url + hash_)
        await self.page.wait_for_function(
            "document.getElementById('conn').dataset.state === 'live'", timeout=WAIT
        )

    async def text(self, selector: str) -> str:
        return str(await self.page.locator(selector).inner_text(timeout=WAIT)).strip()

    async def until(self, js: str, arg: Any = None) -> None:
        await self.page.wait_for_function(js, arg=arg, timeout=WAIT)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with playwright_api.async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await chromium.new_page(viewport={"width": 1500, "height": 1000})
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

            def console(msg: Any) -> None:
                # a refused request (the 400 of a bad setting) is logged too: not a problem
                if msg.type == "error" and "Failed to load resource" not in msg.text:
                    problems.append(f"console: {msg.text}")  # CSP refusals, script errors

            page.on("console", console)
            page.on("dialog", lambda dialog: dialog.accept())  # confirm() of kill and stop
            yield Browser(page, problems)
        finally:
            await chromium.close()


async def test_tree_trader_state_and_kill_from_the_page(rig: Rig, browser: Browser) -> None:
    await rig.trade("1.0000")
    await eventually(lambda: rig.first("buy").get("status") == "NEW")
    await browser.open(rig)
    page = browser.page
    # the tree: root → streamer / exchange / observer / naive → symbol → leader and traders
    for key in ("root", "streamer", "exchange.fills", "observer", "naive.symbols"):
        await page.locator(f'#tree .row[data-key="{key}"]').wait_for(timeout=WAIT)
    for key in (f"symbol:{SYMBOL}", f"traders:{SYMBOL}", f"leader:{SYMBOL}", TRADER):
        await page.locator(f'#tree .row[data-key="{key}"]').wait_for(timeout=WAIT)
    row = page.locator(f'#tree .row[data-key="{TRADER}"]')
    assert "buying" in await row.inner_text() and " c0" not in await row.inner_text()

    # its state
    await row.click()
    state = page.locator("[data-testid=trader-state]")
    await state.wait_for(timeout=WAIT)
    assert await browser.text('[data-field="trader_id"]') == "t1"
    assert await browser.text('[data-field="cycle"]') == "0"
    assert await browser.text('[data-field="phase"]') == "buying"
    buy_row = page.locator('[data-testid=trader-orders] tr[data-side="BUY"]')
    assert "0.9999" in await buy_row.inner_text() and "NEW" in await buy_row.inner_text()
    old_pid = rig.first_trader().pid
    assert await browser.text("[data-testid=proc-pid]") == f"#{old_pid}"
    before = await browser.text("[data-testid=trader-orders]")

    # kill it from the page (the confirm dialog is accepted): same id and state, new pid
    await page.click("#kill")
    await browser.until(
        "(old) => { const b = document.getElementById('proc-body');"
        " return b.dataset.pid && b.dataset.pid !== String(old); }",
        old_pid,
    )
    new = rig.first_trader()
    assert new is not None and new.pid != old_pid
    assert new.info()["trader_id"] == "t1"
    assert await browser.text("[data-testid=proc-pid]") == f"#{new.pid}"
    assert await browser.text('[data-field="trader_id"]') == "t1"
    assert await browser.text('[data-field="cycle"]') == "0"
    assert await browser.text("[data-testid=trader-orders]") == before
    await browser.until(
        '([key, pid]) => { const r = document.querySelector(`#tree .row[data-key="${key}"]`);'
        " return r && r.dataset.pid === String(pid); }",
        [TRADER, new.pid],
    )
    assert len([o for o in await rig.ledger() if o["side"] == "BUY"]) == 1  # no duplicate
    assert rig.node.naive.ctx.restarts[SYMBOL] == 1
    assert not browser.problems, browser.problems


async def test_symbol_view_chart_settings_and_stop(rig: Rig, browser: Browser) -> None:
    await rig.trade("1.0000")
    await eventually(lambda: rig.first("buy").get("status") == "NEW")
    await browser.open(rig)
    page = browser.page
    await page.click(f'#tabs button[data-tab="{SYMBOL}"]')
    await page.locator("#sym-status").wait_for(timeout=WAIT)
    assert await browser.text("#sym-status") == "on"
    assert "t1" in await browser.text("#sym-traders")
    assert "0.9999" in await browser.text("#sym-orders")
    # the price chart draws the trades (and our open order) once loaded
    rig.next_second()  # the next trade opens a new 1 s bar
    await rig.trade("0.9999", qty="100")  # fills the buy: a fill marker, then a sell
    await eventually(lambda: rig.first("sell").get("status") == "NEW")
    await browser.until(
        "() => { const c = document.getElementById('price-chart');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let blue = 0; for (let i = 0; i < d.length; i += 4)"
        " if (d[i + 2] > 200 && d[i] < 80 && d[i + 3] > 0) blue++; return blue > 20; }"
    )
    await browser.until("() => document.getElementById('sym-orders').innerText.includes('SELL')")
    # what the chart draws is `BarAggregator`'s 1 s bars of the trades fed, exactly
    expected = await rig.bars_of_trades("1s")
    assert [b[4] for b in expected] == ["1", "0.9999"]
    await browser.until(
        "(want) => { const p = document.getElementById('price-chart')._plot;"
        " return !!p && JSON.stringify(p.bars) === JSON.stringify(want); }",
        expected,
    )
    drawn = await page.evaluate(
        "() => { const p = document.getElementById('price-chart')._plot;"
        " return {interval: p.interval, boxes: p.ranges[0].pts, closes: p.lines[0].pts}; }"
    )
    assert drawn["interval"] == "1s"
    assert await page.locator("#price-title").text_content() == "Price · 1s bars"
    assert drawn["boxes"] == [[b[0], b[0] + 1000, float(b[3]), float(b[2])] for b in expected]
    assert drawn["closes"] == [[b[0] + 1000, float(b[4])] for b in expected]

    # settings: the form shows the stored row's strategy and its fields (any strategy's);
    # a bad value shows the server's message
    budget = page.locator('#settings-form input[name="budget"]')
    await browser.until(
        "() => document.querySelector('#settings-form input[name=budget]').value === '100'"
    )
    assert await browser.text("#settings-strategy") == "strategy: naive"
    assert "STRATEGY\nnaive" in await browser.text("#sym-stats")  # labels are upper-cased by CSS
    await budget.fill("1")
    await page.click("#settings-save")
    await browser.until("() => document.getElementById('settings-msg').classList.contains('error')")
    assert "min notional" in await browser.text("#settings-msg")
    await budget.fill("250")
    await page.click("#settings-save")
    await browser.until("() => document.getElementById('settings-msg').innerText === 'saved'")
    status, rows = await rig.get(f"/api/settings?symbol={SYMBOL}")
    assert status == 200 and rows[0]["budget"] == "250"

    # stop the symbol from the page (confirm accepted): its tree goes, its status is off
    await page.click("#btn-stop")
    await browser.until("() => document.getElementById('sym-status').innerText === 'off'")
    assert rig.leader() is None and rig.node.naive.ctx.status[SYMBOL] == "off"
    await page.locator(f'#tree .row[data-key="leader:{SYMBOL}"]').wait_for(
        state="detached", timeout=WAIT
    )
    assert [o["status"] for o in await rig.ledger() if o["side"] == "SELL"] == ["NEW"]
    # and start it again
    await page.click("#btn-start")
    await browser.until("() => document.getElementById('sym-status').innerText === 'on'")
    await eventually(rig.leader)
    assert not browser.problems, browser.problems


async def test_node_view_and_a_bad_token(rig: Rig, browser: Browser) -> None:
    await browser.open(rig)
    stats = await browser.text("[data-testid=node-stats]")
    assert "SYMBOLS TRADING" in stats.upper()
    await browser.until(
        "() => document.getElementById('view').innerText.includes('USDT')"
    )  # balances
    assert "binance" in await browser.text("#exchange")
    response = await browser.page.goto(rig.url + "/?token=wrong")
    assert response.status == 401
    assert not browser.problems, browser.problems
