"""The page's JavaScript modules, as a browser loads them: from the entry module named by the
page, through every import (resolved against the importing module's URL, then the page's import
map), each served by the dashboard as JavaScript; none comes from outside the dashboard (no
internet, no other route of the node), every module of `static/js/` is used, and nothing else
is served from there."""

from __future__ import annotations

import json
import re

from yarl import URL

from hedgehog.dashboard.page import MODULES, modules
from tests.dashboard.conftest import TOKEN, Rig

# the specifiers of `import ... from "x"`, `export ... from "x"`, `import "x"` and `import("x")`
IMPORT = re.compile(
    r"""(?:\b(?:import|export)\b[^;"'`]*?\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']"""
)


def specifiers(source: str) -> list[str]:
    code = re.sub(r"/\*.*?\*/|^\s*//.*$", "", source, flags=re.S | re.M)  # comments
    found = IMPORT.findall(code)
    # every dynamic import names its module literally (so the list above is complete)
    assert code.count("import(") == len(re.findall(r"\bimport\(\s*[\"']", code))
    return list(found)


async def test_every_module_the_page_imports_is_javascript_from_the_dashboard(rig: Rig) -> None:
    page_url = URL(rig.page_url)
    async with rig.http.get(page_url) as resp:
        assert resp.status == 200
        html = await resp.text()
    entry = re.search(r'<script type="module" src="([^"]+)"></script>', html)
    importmap = html.split('<script type="importmap">', 1)[1].split("</script>", 1)[0]
    imports = {
        str(page_url.join(URL(k))): str(page_url.join(URL(v)))
        for k, v in json.loads(importmap)["imports"].items()
    }
    assert entry is not None
    queue, seen = [page_url.join(URL(entry.group(1).replace("&amp;", "&")))], set()
    while queue:
        url = queue.pop()
        if url.path in seen:
            continue
        seen.add(url.path)
        # the dashboard's own modules, on the node itself
        assert url.origin() == page_url.origin() and url.path.startswith(MODULES), url
        async with rig.http.get(url) as resp:  # as a browser asks: the token in the URL only
            assert resp.status == 200, url
            assert resp.content_type == "text/javascript", url
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            source = await resp.text()
        assert not re.search(r"\bhttps?://", source), url  # nothing from the internet
        for spec in specifiers(source):
            assert spec.startswith("./"), (url, spec)  # a sibling, never a bare name or a URL
            resolved = str(url.with_query(None).join(URL(spec)))
            assert resolved in imports, (url, spec)  # mapped: its URL carries the token
            queue.append(URL(imports[resolved]))
    assert seen == {MODULES + name for name in modules()}  # every module is used
    assert "main.js" in modules() and "plot.js" in modules()


async def test_only_the_modules_are_served_and_with_the_token(rig: Rig) -> None:
    async with rig.http.get(f"{rig.url}{MODULES}main.js") as resp:
        assert resp.status == 401
    async with rig.http.get(f"{rig.url}{MODULES}main.js?token=wrong") as resp:
        assert resp.status == 401
    for name in ("nothing.js", "..%2Fserver.py", "..%2F..%2Fdashboard%2Fpage.py", "index.html"):
        async with rig.http.get(f"{rig.url}{MODULES}{name}?token={TOKEN}") as resp:
            assert resp.status == 404, name
