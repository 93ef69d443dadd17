"""`workbench serve` with sign-in, in a real Chromium: a story whose every field holds a script
payload runs none of it on any tab or in the player, and each writer's rating and Undo are theirs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import skip_or_fail
from tests.hostile import MARK, build_hostile

from .helpers import child_env, free_port, missing_browser, running, serve_command

pytestmark = [pytest.mark.browser, pytest.mark.slow]

USERS = {"alice": "a-pass-12345", "bob": "b-pass-12345"}
TABS = ("Write", "Map", "Cast", "Media", "Context", "Outline", "Story", "A/B", "Grid")

# every element of the page, shadow roots included: live script, handlers, javascript: URLs, the payload's <img>
LIVE_MARKUP = """() => {
  const out = []; let text = '';
  const visit = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.tagName === 'SCRIPT' && el.textContent.includes('MARK')) out.push('script: ' + el.textContent.slice(0, 80));
      for (const a of el.attributes) {
        const v = a.value || '';
        if (a.name.toLowerCase().startsWith('on') && v.includes('MARK')) out.push(el.tagName + ' ' + a.name + '=' + v.slice(0, 60));
        if (['src', 'href', 'action'].includes(a.name.toLowerCase()) && v.trim().toLowerCase().startsWith('javascript:')) out.push(el.tagName + ' ' + a.name);
      }
      if (el.tagName === 'IMG' && el.getAttribute('src') === 'x') out.push('img src=x');
      if (el.shadowRoot) { text += el.shadowRoot.textContent; visit(el.shadowRoot); }
    }
  };
  visit(document);
  text += document.body.textContent;
  return {live: out, text: text, fired: window.__xss || null};
}""".replace("MARK", MARK)


@pytest.fixture(scope="module")
def hostile_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if missing_browser():
        skip_or_fail(missing_browser() or "")
    root = tmp_path_factory.mktemp("serve-hostile")
    project = root / "hostile.story"
    build_hostile(project).close()
    users = root / "users.json"
    users.write_text(json.dumps(USERS))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = child_env(root / "home", WORKBENCH_MAX_NEW_TOKENS="16", WORKBENCH_BASIC_AUTH="")
    cmd = [*serve_command(project, port), "--password-file", str(users)]
    with running(cmd, base + "/login", env, root / "serve.log", timeout=120):
        yield {"base": base, "project": project}


def sign_in(browser: Any, base: str, user: str) -> tuple[Any, Any, list[str]]:
    ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
    ctx.set_default_timeout(60_000)
    page = ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(base + "/")
    page.locator("#username").fill(user)
    page.locator("#password").fill(USERS[user])
    page.locator("button[type=submit]").click()
    page.locator(".wb-generate button").wait_for()
    return ctx, page, dialogs


def check_page(page: Any, dialogs: list[str], where: str) -> str:
    page.wait_for_timeout(400)
    found = page.evaluate(LIVE_MARKUP)
    assert dialogs == [], f"{where}: a dialog fired: {dialogs}"
    assert found["fired"] is None, f"{where}: story text ran: {found['fired']}"
    assert found["live"] == [], f"{where}: live markup from story text: {found['live']}"
    return str(found["text"])


def test_no_story_text_runs_on_any_tab_or_in_the_player(browser: Any, hostile_served: dict[str, Any]) -> None:
    ctx, page, dialogs = sign_in(browser, hostile_served["base"], "alice")
    try:
        seen = check_page(page, dialogs, "Write")
        assert f"{MARK}title" in seen and f"{MARK}take-action" in seen  # the payloads are there, as text
        for name in TABS[1:]:
            page.locator(".bk-tab", has_text=name).first.click()
            if name == "Map":
                page.locator("g.wb-scene").first.click()  # the selected-scene line and the editor
                page.locator(".bk-tab", has_text="Map").first.click()
            if name == "Context":
                page.locator(".wb-show-context button").click()
                page.locator(".wb-context").first.wait_for()
            seen += check_page(page, dialogs, name)
        for field in (
            "character-name",
            "character-description",
            "lore-content",
            "branch",
            "choice-1",
            "scene-2",
        ):
            assert f"{MARK}{field}" in seen, field
        page.goto(hostile_served["base"] + "/play")
        page.locator(".wb-play-choice button").first.wait_for()
        seen = check_page(page, dialogs, "/play")
        page.locator(".wb-play-history-card").first.click()
        assert f"{MARK}scene-1" in seen
        page.locator(".wb-play-choice button").first.click()
        page.wait_for_timeout(1500)
        check_page(page, dialogs, "/play after a move")
        assert page.title().startswith("Story Workbench")
    finally:
        ctx.close()


def _live_rates(project: Path) -> list[tuple[str, int]]:
    from workbench import open_project

    p = open_project(project, create=False)
    try:
        return [(e.rater, int(e.value)) for e in p.feedback() if e.kind == "rate" and e.rater != "writer"]
    finally:
        p.close()


def _wait_rates(project: Path, want: list[tuple[str, int]], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while _live_rates(project) != want:
        assert time.monotonic() < deadline, f"feedback is {_live_rates(project)}, not {want}"
        time.sleep(0.2)


def test_each_writer_rates_as_themselves_and_undoes_their_own_step(
    browser: Any, hostile_served: dict[str, Any]
) -> None:
    """Before: ratings were logged as "writer", and Bob's Undo voided Alice's later rating."""
    project = hostile_served["project"]
    bob_ctx, bob, _ = sign_in(browser, hostile_served["base"], "bob")
    alice_ctx, alice, _ = sign_in(browser, hostile_served["base"], "alice")
    try:
        cookie = next(c for c in bob_ctx.cookies() if c["name"] == "user")
        assert cookie["sameSite"] == "Strict" and cookie["httpOnly"] is True
        bob.locator(".wb-rating button", has_text="★2").click()
        _wait_rates(project, [("bob", 2)])
        alice.locator(".wb-rating button", has_text="★5").click()
        _wait_rates(project, [("bob", 2), ("alice", 5)])
        undo = bob.locator(".wb-undo button")
        undo.filter(has_text="Undo rate take").wait_for()
        undo.click()
        _wait_rates(project, [("alice", 5)])  # Bob's own rating went; Alice's stayed
        alice.locator(".wb-undo button", has_text="Undo rate take").wait_for()  # hers is still hers to undo
    finally:
        bob_ctx.close()
        alice_ctx.close()
