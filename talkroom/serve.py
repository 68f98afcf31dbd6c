"""`talkroom serve`: the moderator console in a browser, through textual-serve.

Each browser session runs the very console `talkroom` runs in a terminal, as a process of
its own (textual-serve speaks to it over its standard input and output). This process
runs this host's one watcher for as long as it serves, so the sessions' consoles find the
host's watcher lock taken and show it as running elsewhere, exactly as a second terminal
console would: closing a tab never stops deliveries, opening ten never starts ten.

Every URL lives under a random token made for this run: without the token the server
answers 404, so another user of the machine, or a web page the browser shows, cannot
reach the console by guessing the port.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import WSCloseCode, web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from talkroom.core.config import Config
from talkroom.core.errors import BadInput, TalkError
from talkroom.core.paths import Root
from talkroom.core.sanitise import sanitise, sanitise_line
from talkroom.watch.hostlock import WatcherBusy
from talkroom.watch.watcher import Watcher, WatchEvent

LOOPBACK = "127.0.0.1"
TITLE = "talkroom"  # a constant: the page's title never carries a name from the root


def is_loopback(host: str) -> bool:
    """True for an address (or `localhost`) that only this machine can reach."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def console_command(
    root: Root, host: str, *, watch: bool, poll: bool, interval: float | None
) -> str:
    """The command line each browser session runs: this console, for this root and host.
    textual-serve runs it through the shell, so every part is quoted for it."""
    argv = [sys.executable, "-m", "talkroom", "--root", str(root.path), "--host", host]
    if not watch:
        argv.append("--no-watch")
    if poll:
        argv.append("--poll")
    if interval is not None:
        argv += ["--interval", repr(interval)]
    if os.name == "nt":
        import subprocess

        return subprocess.list2cmdline(argv)
    import shlex

    return shlex.join(argv)


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one); a one-line BadInput if not."""
    if not 0 <= port <= 65535:
        raise BadInput(f"--port must be between 0 and 65535, got {port}")
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        return socket.create_server(address[:2], family=family, backlog=64)
    except (OSError, UnicodeError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise BadInput(
            f"cannot listen on {sanitise_line(host)} port {port}: {why}; "
            "choose another --port (0 picks a free one) or --host"
        ) from None


def url_host(sock: socket.socket, asked: str) -> str:
    """How a browser names the server: the address asked for, the machine's name for an
    address that means 'every interface', brackets around IPv6."""
    bound = str(sock.getsockname()[0])
    try:
        unspecified = ipaddress.ip_address(bound).is_unspecified
    except ValueError:
        unspecified = False
    name = socket.gethostname() if unspecified else asked.strip("[]")
    return f"[{name}]" if ":" in name else name


class _InertLog(logging.Formatter):
    """textual-serve's log lines, with anything that could steer a terminal made visible."""

    def format(self, record: logging.LogRecord) -> str:
        return sanitise(super().format(record))


class ConsoleServer(Server):
    """textual-serve's server with every route under a secret token, same-origin
    websockets only, headers that keep the page to itself, and a quick shutdown."""

    def __init__(self, command: str, token: str, ready: Callable[[], None]) -> None:
        super().__init__(command, title=TITLE)
        self.token = token
        self.ready = ready
        self.sockets: set[web.WebSocketResponse] = set()

    def initialize_logging(self) -> None:
        """Warnings and errors only (an access log would print the token on every line)."""
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_InertLog("talkroom: serve: %(message)s"))
        log = logging.getLogger("textual-serve")
        log.addHandler(handler)
        log.setLevel(logging.WARNING)
        log.propagate = False

    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._same_origin])
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        prefix = f"/{self.token}"
        app.add_routes(
            [
                web.get(f"{prefix}/", self.handle_index, name="index"),
                web.get(f"{prefix}/ws", self.handle_websocket, name="websocket"),
                web.get(f"{prefix}/download/{{key}}", self.handle_download, name="download"),
                web.static(f"{prefix}/static", self.statics_path, name="static"),
            ]
        )
        app.on_response_prepare.append(self._headers)
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    @web.middleware
    async def _same_origin(self, request: web.Request, handler: Any) -> web.StreamResponse:
        # A page from elsewhere may open a websocket to any port: only this server's own
        # page may drive a console (the token already keeps out whoever lacks the URL).
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            raise web.HTTPForbidden(text="talkroom: this console only answers its own page\n")
        response: web.StreamResponse = await handler(request)
        return response

    async def _headers(self, request: web.Request, response: web.StreamResponse) -> None:
        # The page loads its script and styles from here and speaks to here: nothing else
        # (textual-serve's page asks a font server for a font; the browser is told not to).
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; script-src 'self' 'unsafe-inline'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
            f"connect-src 'self' ws://{request.host}; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'"
        )
        response.headers["Referrer-Policy"] = "no-referrer"  # the URL holds the token
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"

    @aiohttp_jinja2.template("app_index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        """The page, its URLs built from the address the browser used (so `localhost`,
        a LAN name and 127.0.0.1 each get a page that speaks to where it came from)."""
        router = request.app.router
        base = f"{request.scheme}://{request.host}"
        ws = "wss" if request.scheme == "https" else "ws"
        try:
            font_size = int(request.query.get("fontsize", "16"))
        except ValueError:
            font_size = 16
        return {
            "font_size": max(6, min(font_size, 64)),
            "app_websocket_url": f"{ws}://{request.host}{router['websocket'].url_for()}",
            "config": {
                "static": {
                    "url": f"{base}{router['static'].url_for(filename='/')}".rstrip("/") + "/"
                }
            },
            "application": {"name": TITLE},
        }

    async def _process_messages(
        self, websocket: web.WebSocketResponse, app_service: AppService
    ) -> None:
        self.sockets.add(websocket)
        try:
            await super()._process_messages(websocket, app_service)
        finally:
            self.sockets.discard(websocket)

    async def on_startup(self, app: web.Application) -> None:
        """Listening, with Ctrl+C and SIGTERM handled: call `ready` (textual-serve would
        print a logo)."""
        self.ready()

    async def on_shutdown(self, app: web.Application) -> None:
        """Close every session: each console is told to quit and is waited for."""
        for websocket in list(self.sockets):
            await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"talkroom serve stopped")

    def run(self, sock: socket.socket) -> None:
        """Serve on `sock` until SIGINT or SIGTERM."""
        self.initialize_logging()
        web.run_app(
            self._make_app(),
            sock=sock,
            print=None,
            access_log=None,
            handle_signals=True,
            shutdown_timeout=5.0,
        )


def start_watcher(root: Root, host: str, config: Config, *, poll: bool) -> Watcher | None:
    """This host's watcher, in this process, one line per event; None (and a line
    saying why) when another process's watcher serves the host, or it cannot start."""
    out = threading.Lock()

    def show(event: WatchEvent) -> None:
        with out:
            print(f"{event.at} {event.kind}: {sanitise_line(event.text)}", flush=True)

    watcher = Watcher.configured(
        root, host, config.settings, poll=True if poll else None, on_event=show
    )
    try:
        watcher.start()
    except WatcherBusy as exc:
        who = f"pid {exc.pid}" if exc.pid else "another process"
        print(f"this host's watcher already runs ({who}); the browser consoles show it")
        return None
    except (OSError, TalkError) as exc:
        print(
            f"talkroom: warning: this host's watcher did not start: {sanitise_line(str(exc))}",
            file=sys.stderr,
        )
        return None
    return watcher


def run(
    root: Root,
    host: str,
    config: Config,
    *,
    bind: str,
    port: int,
    watch: bool,
    poll: bool,
    interval: float | None,
) -> int:
    """Serve the console until SIGINT or SIGTERM; prints the URL (with its token)."""
    sock = listen(bind, port)
    token = secrets.token_urlsafe(24)
    url = f"http://{url_host(sock, bind)}:{sock.getsockname()[1]}/{token}/"
    if not is_loopback(bind):
        print(
            f"talkroom: warning: serving on {sanitise_line(bind)}, not loopback: anyone who "
            "can reach this port and has the URL can moderate, over unencrypted HTTP",
            file=sys.stderr,
        )
    watchers: list[Watcher] = []

    def ready() -> None:
        # Printed once the server answers and stops cleanly on a signal: whoever reads
        # the URL (a person, a script) can use it at once, or stop the server.
        print(f"the console for {sanitise_line(str(root.path))}, in a browser:", flush=True)
        print(f"  {url}", flush=True)
        print("anyone with this URL can moderate; Ctrl+C stops the server", flush=True)
        if watch and (watcher := start_watcher(root, host, config, poll=poll)) is not None:
            watchers.append(watcher)

    command = console_command(root, host, watch=watch, poll=poll, interval=interval)
    try:
        ConsoleServer(command, token, ready).run(sock)
    finally:
        sock.close()
        for watcher in watchers:
            watcher.stop()
    return 0
