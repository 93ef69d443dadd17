"""Load benchmark: many writers on one `workbench serve`, each rating, choosing and forking.

Starts `workbench serve` with sign-in (one user per simulated writer) on a copy of the sample
story, then drives N sessions at once for a fixed time. Each session is a real Bokeh client
session, signed in with its own user cookie and a signed session id: the same WebSocket
protocol, Host and cookie checks a browser's page goes through, without a browser's rendering
cost (20 Chromium pages would measure the browser on this machine, not the server). A session
clicks like a writer: rate the take shown, choose it, fork a new branch from a scene, with a
pause between clicks; the time from a click to the change showing in that session's own
status line is its click-to-update time.

Afterwards the project file is checked: ``PRAGMA integrity_check``, and every click that showed
as done is in the file, attributed to the writer who made it (no lost events).

Run: python bench/serve_load.py [--sessions 20] [--seconds 60]   (ends with one JSON line of figures)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far (Linux), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[k], 3)


class Writer:
    """One simulated writer: a signed-in Bokeh client session on the workbench page."""

    def __init__(
        self, name: str, scene_id: str, cookie: str, ws_url: str, key: bytes, rng: random.Random
    ) -> None:
        self.name, self.scene_id, self.cookie, self.ws_url, self.key, self.rng = (
            name,
            scene_id,
            cookie,
            ws_url,
            key,
            rng,
        )
        self.latency: dict[str, list[float]] = {"rate": [], "choose": [], "fork": []}
        self.done: dict[str, int] = {"rate": 0, "choose": 0, "fork": 0}
        self.errors: list[str] = []
        self.forks: list[str] = []
        self.project_file: Path | None = None

    # ---- the page's parts, found by their CSS classes
    def _model(self, doc: Any, css: str) -> Any:
        for m in doc.models:
            if css in (getattr(m, "css_classes", None) or []):
                return m
        raise LookupError(css)

    @staticmethod
    def _send(doc: Any, model: Any, attr: str, value: Any) -> None:
        """Send a widget change as a browser does, even when this client's copy already holds the value:
        Panel does not send back every change the server makes, so the copy may be out of date."""
        from bokeh.document.events import ModelChangedEvent

        if getattr(model, attr) != value:
            setattr(model, attr, value)
        else:
            doc.callbacks.trigger_on_change(ModelChangedEvent(doc, model, attr, value))

    def _truth(self, story: Any) -> tuple[list[tuple[str, int | None]], int]:
        """This writer's scene as the file has it: (take id, rating) in order, and the chosen take's index."""
        scene = story.scene(self.scene_id)
        takes = [(t.id, t.rating) for t in scene.takes]
        chosen = scene.chosen
        return takes, next((i for i, (tid, _) in enumerate(takes) if chosen and tid == chosen.id), -1)

    async def _wait(self, check: Any, what: str, timeout: float = 15.0) -> float:
        """Wait until ``check()`` is true in this session's copy of the page (the server's update arrived)."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if check():
                return time.perf_counter() - t0
            await asyncio.sleep(0.005)
        raise TimeoutError(f"{what} did not show within {timeout:.0f} s")

    async def run(self, session: Any, seconds: float, think: tuple[float, float]) -> None:
        from bokeh.events import ButtonClick

        doc = session.document
        rating = self._model(doc, "wb-rating")
        choose = self._model(doc, "wb-choose")
        carousel = self._model(doc, "wb-takes")
        fork_input = self._model(doc, "wb-fork-choice")
        fork_button = self._model(doc, "wb-fork")
        branch_map = self._model(doc, "wb-branch-map-view")
        # What shows a click took effect on this page: the writer's own Undo button names their last
        # change (per-writer undo), and a fork's branch appears in the branch list. (Panel sends the
        # views' status lines, custom components, only to a browser that renders them.)
        undo = self._model(doc, "wb-undo")
        tabs = self._model(doc, "wb-tabs")
        branches = self._model(doc, "wb-branch-select")

        def branch_names() -> list[str]:
            return [o if isinstance(o, str) else o[0] for o in branches.options]

        # each writer works on their own scene (three takes, the first chosen) of the one shared story:
        # they open the Map and click it (it opens in Write, and forks start there)
        self._send(doc, tabs, "active", 1)
        await asyncio.sleep(0.3)
        self._send(doc, branch_map.data, "selected", self.scene_id)
        branch_map.data.clicks = branch_map.data.clicks + 1
        await asyncio.sleep(1.0)
        self._send(doc, tabs, "active", 0)  # the server switched to Write; this client's copy follows
        await asyncio.sleep(0.3)
        shown = 0  # the take the page shows (the carousel starts at the first take)
        from workbench import open_project

        story = open_project(self.project_file, create=False)  # the truth, read as another program would
        end = time.monotonic() + seconds
        plan = ["rate", "choose", "rate", "fork"]
        step = self.rng.randrange(len(plan))
        stars = self.rng.randint(1, 5)
        await asyncio.sleep(self.rng.uniform(0, think[1]))  # writers do not all start at once
        try:
            while time.monotonic() < end:
                kind = plan[step % len(plan)]
                step += 1
                try:
                    if kind == "rate":
                        takes, _ = self._truth(story)
                        current = takes[shown][1] or 0  # what the server's rating widget shows now
                        stars = stars % 5 + 1
                        if stars == current:
                            stars = stars % 5 + 1
                        t0 = time.perf_counter()
                        self._send(doc, rating, "active", stars)  # options: –, ★1 … ★5
                        await self._wait(lambda: undo.label == "Undo rate take", "the rating")
                    elif kind == "choose":
                        takes, chosen = self._truth(story)
                        target = (
                            next(i for i in range(len(takes)) if i != chosen and i != shown)
                            if shown == chosen
                            else shown
                        )
                        if shown != target:  # flip to a take that is not chosen: Choose is enabled there
                            self._send(doc, carousel.data, "index", target)
                            shown = target
                            await self._wait(lambda: not choose.disabled, "the take")
                        t0 = time.perf_counter()
                        doc.callbacks.send_event(ButtonClick(choose))
                        await self._wait(lambda: undo.label == "Undo choose take", "the choice")
                    else:
                        label = f"{self.name} forks {len(self.forks) + 1}"
                        t0 = time.perf_counter()
                        # on the Map, fork from the selected scene (the writer's scene, then each new fork)
                        self._send(doc, tabs, "active", 1)
                        fork_input.value = label
                        await asyncio.sleep(0)  # let the value go before the click
                        doc.callbacks.send_event(ButtonClick(fork_button))
                        await self._wait(lambda label=label: label in branch_names(), "the fork")
                        self.forks.append(label)
                        self._send(doc, tabs, "active", 0)  # and back to writing
                    self.latency[kind].append(time.perf_counter() - t0)
                    self.done[kind] += 1
                except Exception as exc:  # recorded, and the writer goes on
                    self.errors.append(
                        f"{kind} (after {plan[(step - 2) % len(plan)]}, undo shows {undo.label!r}, take shown "
                        f"{shown}, chosen {self._truth(story)[1]}, choose disabled {choose.disabled}): "
                        f"{type(exc).__name__}: {exc}"
                    )
                await asyncio.sleep(self.rng.uniform(*think))
        finally:
            story.close()

    def thread(self, seconds: float, think: tuple[float, float], ready: threading.Barrier) -> None:
        from bokeh.util.token import generate_session_id
        from tornado.ioloop import IOLoop

        asyncio.set_event_loop(asyncio.new_event_loop())
        loop = IOLoop.current()
        session = None
        try:
            session = signed_session_class()(
                session_id=generate_session_id(secret_key=self.key, signed=True),
                websocket_url=self.ws_url,
                io_loop=loop,
                arguments={"bench_user": self.name},
            )
            session.bench = self  # type: ignore[attr-defined]
            session.pull()
            if session.document is None:
                raise RuntimeError("no document")
        except Exception as exc:
            self.errors.append(f"connect: {type(exc).__name__}: {exc}")
            ready.wait()
            return
        ready.wait()
        assert session is not None

        async def clicks() -> None:
            try:
                await self.run(session, seconds, think)
            except Exception as exc:
                self.errors.append(f"run: {type(exc).__name__}: {exc}")
            finally:
                session.close()

        loop.add_callback(clicks)
        try:
            # Bokeh's client handles incoming messages only while its loop runs this way (the
            # session's public method became private in Bokeh 3): updates arrive during the clicks
            session._loop_until_closed()
        except Exception as exc:
            self.errors.append(f"loop: {type(exc).__name__}: {exc}")


_COOKIES: dict[str, str] = {}
_KEY: bytes = b""


def signed_session_class() -> type:
    """A Bokeh ClientSession whose session id and token are signed with the server's key and carry the
    writer's cookie (as a browser page's token does), and whose WebSocket request sends the cookie."""
    import bokeh.client.connection as connection
    from bokeh.client.session import ClientSession
    from bokeh.util.token import generate_jwt_token
    from tornado.httpclient import HTTPRequest

    class SignedSession(ClientSession):
        @property
        def token(self) -> str:
            cookie = _COOKIES[self.bench.name]  # type: ignore[attr-defined]
            return generate_jwt_token(
                self.id,
                secret_key=_KEY,
                signed=True,
                extra_payload={"cookies": {"user": cookie}, "headers": {"Cookie": f"user={cookie}"}},
            )

    def request(url: str, **kwargs: Any) -> HTTPRequest:  # the page's cookie on its WebSocket request
        user = parse_qs(urlsplit(url).query).get("bench_user", [""])[0]
        headers = dict(kwargs.pop("headers", None) or {})
        if user in _COOKIES:
            headers["Cookie"] = f"user={_COOKIES[user]}"
        return HTTPRequest(url, headers=headers, **kwargs)

    connection.HTTPRequest = request  # type: ignore[attr-defined,assignment]
    return SignedSession


def main() -> None:
    global _KEY
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", default=None, metavar="FILE", help="write a cProfile of the server here")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="wb-serve-load-"))
    from workbench.app.security import derive_secret
    from workbench.story.sample import build_sample

    project = tmp / "sample.story"
    users = {f"writer{i:02d}": secrets.token_urlsafe(12) for i in range(1, args.sessions + 1)}
    story = build_sample(project)
    scenes = {}
    for name in users:  # a scene of their own per writer, with three takes to rate and choose from
        sc = story.add_scene(
            f"{name} at the harbour",
            f"EXT. HARBOUR - DAY\n\n{name} waits.",
            after=story.start,
            choice=f"{name} goes",
        )
        sc.add_take(f"EXT. HARBOUR - DAY\n\n{name} runs.")
        sc.add_take(f"EXT. HARBOUR - DAY\n\n{name} sings.")
        scenes[name] = sc.id
    story.forget_undo()
    story.close()
    (tmp / "users.json").write_text(json.dumps(users))
    secret = secrets.token_urlsafe(32)
    _KEY = derive_secret(secret, "bokeh session ids")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "WORKBENCH_HOME": str(tmp / "home"),
        "WORKBENCH_SECRET_KEY": secret,
        "WORKBENCH_BASIC_AUTH": "",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONPATH": str(REPO),
    }
    log = open(tmp / "serve.log", "wb")  # noqa: SIM115 - open for the server's lifetime
    profile = ["-m", "cProfile", "-o", str(Path(args.profile).resolve())] if args.profile else []
    server = subprocess.Popen(
        [sys.executable, *profile, "-m", "workbench.cli", "serve", str(project), "--port", str(port), "--password-file",
         str(tmp / "users.json")],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO,
    )  # fmt: skip
    import httpx

    load_before = loadavg()
    server_cpu0: float | None = None
    server_cpu1: float | None = None
    client_cpu = 0.0
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/login", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"the server did not start: {(tmp / 'serve.log').read_text()[-2000:]}")
            time.sleep(0.2)
        http_requests = 0
        for name, password in users.items():
            with httpx.Client(base_url=base, follow_redirects=False) as c:
                r = c.post("/login", data={"username": name, "password": password})
                http_requests += 1
                if r.status_code != 302:
                    raise SystemExit(f"{name} could not sign in: {r.status_code}")
                _COOKIES[name] = c.cookies["user"].strip('"')
        import panel  # noqa: F401 - registers Panel's model types for the client documents

        from workbench.widgets import Workbench  # noqa: F401 - and the workbench's own components

        rng = random.Random(args.seed)
        writers = [
            Writer(n, scenes[n], _COOKIES[n], f"ws://127.0.0.1:{port}/ws", _KEY, random.Random(rng.random()))
            for n in users
        ]
        ready = threading.Barrier(len(writers) + 1)
        t_connect = time.perf_counter()
        threads = [
            threading.Thread(target=w.thread, args=(args.seconds, tuple(args.think), ready), daemon=True)
            for w in writers
        ]
        for w in writers:
            w.project_file = project
        for t in threads:
            t.start()
        ready.wait()
        connect_s = time.perf_counter() - t_connect
        server_cpu0 = cpu_seconds(server.pid)
        client_cpu0 = time.process_time()
        t0 = time.perf_counter()
        for t in threads:
            t.join(args.seconds + 180)
        wall = time.perf_counter() - t0
        load_after = loadavg()
        server_cpu1 = cpu_seconds(server.pid)
        client_cpu = time.process_time() - client_cpu0
    finally:
        server.terminate()
        try:
            rc = server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            rc = server.wait()
        log.close()

    # ---- the file afterwards: intact, and holding every click that showed as done
    from workbench import open_project

    p = open_project(project, create=False)
    integrity = p.conn.execute("PRAGMA integrity_check").fetchone()[0]
    events = p.feedback()
    rates = {n: sum(1 for e in events if e.kind == "rate" and e.rater == n) for n in users}
    chooses = {n: sum(1 for e in events if e.kind == "choose" and e.rater == n) for n in users}
    branches = set(p.branches)
    p.close()
    lost = 0
    for w in writers:
        lost += max(0, w.done["rate"] - rates[w.name]) + max(0, w.done["choose"] - chooses[w.name])
        lost += sum(1 for label in w.forks if label not in branches)
    all_lat = [x for w in writers for k in w.latency for x in w.latency[k]]
    by_kind = {
        k: {
            "n": sum(w.done[k] for w in writers),
            "p50_s": percentile([x for w in writers for x in w.latency[k]], 0.5),
            "p95_s": percentile([x for w in writers for x in w.latency[k]], 0.95),
        }
        for k in ("rate", "choose", "fork")
    }
    errors = [f"{w.name}: {e}" for w in writers for e in w.errors]
    figures = {
        "bench": "serve_load",
        "sessions": len(writers),
        "seconds": args.seconds,
        "cpus": os.cpu_count(),
        "connect_all_s": round(connect_s, 2),
        "wall_s": round(wall, 1),
        "clicks_done": len(all_lat),
        "requests_served": len(all_lat) + http_requests + len(writers),  # clicks, sign-ins, sessions opened
        "errors": len(errors),
        "error_examples": errors[:5],
        "lost_events": lost,
        "click_to_update_p50_s": percentile(all_lat, 0.5),
        "click_to_update_p95_s": percentile(all_lat, 0.95),
        "click_to_update_max_s": round(max(all_lat), 3) if all_lat else None,
        "by_kind": by_kind,
        "server_cpu_s": round(server_cpu1 - server_cpu0, 1)
        if server_cpu0 is not None and server_cpu1
        else None,
        "client_cpu_s": round(client_cpu, 1),  # the simulated pages share the machine with the server
        "integrity_check": integrity,
        "server_exit_code": rc,
        "loadavg_before": load_before,
        "loadavg_after": load_after,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
