"""Views benchmark: `workbench serve` in Debian's Chromium.

Measures the time from launching the server to an interactive page, from page load to
interactive, from a click on the branch map to the editor showing that scene, and from
pressing Generate to the first streamed token on the page (the model is loaded by a first,
unmeasured generation, so the figure is the warm time a writer sees on each press).

Then a writer's session, scripted (open, generate 3 takes, choose, fork from the map, write the
new scene, compare, export Fountain): each step's time, the whole, each click that does not generate
timed alone from the click to the page's update (typing before it is not counted), the slowest of
them (goal: 0.2 s or less) and the page loads the session needed (goal: none).

Run: python bench/views.py [--repeat 3]   (ends with one JSON line of figures)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STREAM_JS = (
    "() => { const q = (r) => [...r.querySelectorAll('*')].flatMap(e => e.shadowRoot ? [e.shadowRoot, ...q(e.shadowRoot)] : []);"
    " return [document, ...q(document)].some(r => [...r.querySelectorAll('.wb-stream')]"
    ".some(d => d.innerText.split('\\n').slice(1).join('').trim().length > 0)); }"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def writer_session(page: Any, url: str) -> dict[str, Any]:
    """A writer's session, scripted: open, generate 3 takes, choose one, fork from the map, write
    the new scene, compare the branches, export Fountain. Each step's seconds, the whole, the
    slowest click that does not generate, and the page loads after the first (goal: none)."""
    steps: dict[str, float] = {}
    loads = {"n": 0}
    page.on("load", lambda _p: loads.__setitem__("n", loads["n"] + 1))

    def step(name: str, action: Any) -> None:
        t0 = time.perf_counter()
        action()
        steps[name] = round(time.perf_counter() - t0, 3)

    def tab(name: str) -> None:
        page.locator(".bk-tab", has_text=name).first.click()

    def generate(n: int, seed: int) -> None:
        page.locator(".wb-n-takes input").fill(str(n))
        page.locator(".wb-n-takes input").press("Enter")
        page.locator(".wb-seed input").fill(str(seed))
        page.locator(".wb-seed input").press("Enter")
        page.locator(".wb-generate button", has_text=f"Generate {n} take").wait_for()
        page.locator(".wb-generate button").click()
        page.locator(".wb-editor-status .wb-status-text", has_text="written").wait_for()

    clicks: dict[str, float] = {}

    def click(name: str, action: Any, done: Any) -> None:
        """One click and the page's update it causes, timed alone (typing before it is not)."""
        t0 = time.perf_counter()
        action()
        done()
        clicks[name] = round(time.perf_counter() - t0, 3)

    def choose() -> None:
        label = page.locator(".wb-carousel-label").first
        before = label.inner_text()

        def moved() -> None:
            while label.inner_text() == before:
                time.sleep(0.005)

        click("next_take_click_s", lambda: page.locator(".wb-next").first.click(), moved)
        click(
            "choose_click_s",
            lambda: page.locator(".wb-choose button").click(),
            lambda: page.locator(".wb-carousel-label", has_text="chosen").wait_for(),
        )

    def fork() -> None:
        click(
            "select_scene_click_s",
            lambda: page.locator("g.wb-scene", has_text="A Stranger on the").click(),
            lambda: page.locator(".wb-selected-scene", has_text="A Stranger on the").wait_for(),
        )
        page.locator(".wb-fork-choice input").fill("Mara sends the stranger away")
        click(
            "fork_click_s",
            lambda: page.locator(".wb-fork button").click(),
            lambda: page.locator("g.wb-scene", has_text="Mara sends the").wait_for(),
        )

    def open_new() -> None:
        click(
            "write_this_scene_click_s",
            lambda: page.locator(".wb-edit-selected button").click(),
            lambda: page.locator(".wb-scene-select select").wait_for(state="visible"),
        )

    def compare() -> None:
        click(
            "compare_select_s",
            lambda: page.locator(".wb-compare-select select").select_option("main"),
            lambda: page.locator("table.wb-compare").wait_for(),
        )

    def export() -> None:
        page.locator(".wb-format select").select_option("fountain")
        with page.expect_download() as info:
            page.locator(".wb-export-download button").click()
        info.value.path()

    t_all = time.perf_counter()
    step("open_s", lambda: (page.goto(url), page.locator(".wb-generate button").wait_for()))
    loads["n"] = 0
    step("generate_3_takes_s", lambda: generate(3, 900))
    step("choose_s", choose)
    step("map_tab_s", lambda: (tab("Map"), page.locator("g.wb-scene").first.wait_for()))
    step("fork_s", fork)
    step("open_new_scene_s", open_new)
    step("write_new_scene_s", lambda: generate(1, 901))
    step("compare_s", lambda: (tab("Map"), compare()))
    step("export_fountain_s", lambda: (tab("Story"), export()))
    clicks["map_tab_click_s"] = steps["map_tab_s"]
    return {
        **steps,
        "clicks": clicks,
        "whole_s": round(time.perf_counter() - t_all, 2),
        "slowest_click_s": max(clicks.values()),
        "slowest_click": max(clicks, key=lambda k: clicks[k]),
        "page_reloads": loads["n"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=16, help="WORKBENCH_MAX_NEW_TOKENS for the server")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from workbench.story.sample import build_sample

    tmp = Path(tempfile.mkdtemp(prefix="bench-views-"))
    project = tmp / "sample.story"
    build_sample(project).close()
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {
        **os.environ,
        "WORKBENCH_MAX_NEW_TOKENS": str(args.tokens),
        "WORKBENCH_HOME": str(tmp / "home"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    t_launch = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "serve", str(project), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    figures: dict[str, object] = {"bench": "views", "cpus": os.cpu_count(), "tokens_cap": args.tokens}
    try:
        wait_http(url)
        figures["server_up_s"] = round(time.perf_counter() - t_launch, 2)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.set_default_timeout(300_000)
            loads, clicks, firsts = [], [], []
            t0 = time.perf_counter()
            page.goto(url)
            page.locator(".wb-generate button").wait_for()
            figures["launch_to_interactive_s"] = round(time.perf_counter() - t_launch, 2)
            loads.append(time.perf_counter() - t0)
            # warm the model once (not measured)
            page.locator(".wb-n-takes input").fill("1")
            page.locator(".wb-n-takes input").press("Enter")
            page.locator(".wb-generate button", has_text="Generate 1 take").wait_for()
            page.locator(".wb-generate button").click()
            page.locator(".wb-editor-status .wb-status-text", has_text="written").wait_for()
            for i in range(args.repeat):
                t0 = time.perf_counter()
                page.reload()
                page.locator(".wb-generate button").wait_for()
                loads.append(time.perf_counter() - t0)
                page.locator(".bk-tab", has_text="Map").first.click()
                boxes = page.locator("g.wb-scene")
                boxes.first.wait_for()
                target = boxes.nth(1 + i % (boxes.count() - 1))
                title = target.locator("title").text_content().replace(" (no text yet)", "")
                t0 = time.perf_counter()
                target.click()
                page.locator(".wb-selected-scene", has_text=title).wait_for()  # the map stays in view
                clicks.append(time.perf_counter() - t0)
                page.locator(".wb-edit-selected button").click()
                page.locator(".wb-generate button").wait_for(state="visible")
                page.locator(".wb-n-takes input").fill("1")
                page.locator(".wb-n-takes input").press("Enter")
                page.locator(".wb-generate button", has_text="Generate 1 take").wait_for()
                page.locator(".wb-seed input").fill(str(100 + i))  # a new seed: no cache hit
                page.locator(".wb-seed input").press("Enter")
                t0 = time.perf_counter()
                page.locator(".wb-generate button").click()
                page.wait_for_function(STREAM_JS)
                firsts.append(time.perf_counter() - t0)
                page.locator(".wb-editor-status .wb-status-text", has_text="written").wait_for()
            figures["session"] = writer_session(page, url)
            browser.close()
        figures["page_interactive_s"] = round(statistics.median(loads), 3)
        figures["click_to_update_s"] = round(statistics.median(clicks), 3)
        figures["first_streamed_token_s"] = round(statistics.median(firsts), 3)
        figures["samples"] = {
            "page": [round(x, 3) for x in loads],
            "click": [round(x, 3) for x in clicks],
            "first_token": [round(x, 3) for x in firsts],
        }
    finally:
        server.terminate()
        server.wait(15)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
