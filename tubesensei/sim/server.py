"""The HTTP server: routing, fault injection, quota, stats and the /__sim control API."""

from __future__ import annotations

import json
import random
import signal
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import data_api, web
from .config import Faults, SimConfig
from .reply import HTML, Reply, dumps, google_error
from .world import SimVideo, SimWorld

WEB_ENDPOINTS = {"/watch": "watch", "/youtubei/v1/player": "player",
                 "/api/timedtext": "timedtext"}
ENDPOINT_NAMES = tuple(data_api.ENDPOINTS.values()) + tuple(WEB_ENDPOINTS.values())
_PLAIN_500 = b"<html><head><title>500 Internal Server Error</title></head><body>" \
             b"<h1>Internal Server Error</h1></body></html>"


class Simulator:
    """A running (or startable) fake YouTube. Use ``running_simulator`` in tests."""

    def __init__(self, config: SimConfig | None = None, host: str = "127.0.0.1",
                 port: int = 0):
        self.config = config or SimConfig()
        self.world = SimWorld(self.config)
        self.faults: Faults = self.config.initial_faults()
        self._cache = data_api.ItemCache(self.world)
        self._timedtext = web.TimedText(self.world)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reset_counters()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.sim = self
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Simulator:
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="tubesensei-sim", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self._stop.set()  # wakes stalled requests
        self._httpd.shutdown()
        self._httpd.close_all()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- knobs and world changes ---------------------------------------------------------
    def set_faults(self, **knobs: Any) -> dict:
        with self._lock:
            self.faults.update(**knobs)
            return self.faults.as_dict()

    def add_upload(self, channel_id: str, case: str = "manual_en") -> SimVideo:
        return self.world.add_upload(channel_id, case)

    def make_public(self, video_id: str) -> SimVideo:
        return self.world.make_public(video_id)

    def finish_stream(self, video_id: str) -> SimVideo:
        return self.world.finish_stream(video_id)

    def change(self, action: str, **args: Any) -> dict:
        """One change of the world between scans (``/__sim/change``): ``delete_video``
        (``keep_row``), ``make_private``, ``restore_video``, ``rename_channel`` (``title``,
        ``handle``, ``description``), ``close_channel``, ``finish_stream``, ``make_public``."""
        actions = {"delete_video", "make_private", "restore_video", "rename_channel",
                   "close_channel", "finish_stream", "make_public"}
        if action not in actions:
            raise ValueError(f"unknown change {action!r}; one of {', '.join(sorted(actions))}")
        changed = getattr(self.world, action)(**args)
        if isinstance(changed, SimVideo):
            return {"video_id": changed.video_id, "case": changed.case,
                    "privacy": changed.privacy}
        return {"channel_id": changed.channel_id, "handle": changed.handle,
                "title": changed.title}

    # -- quota and stats -----------------------------------------------------------------
    def try_spend(self, units: int) -> bool:
        with self._lock:
            limit = self.faults.quota_per_day
            if limit is not None and self._quota_used + units > limit:
                return False
            self._quota_used += units
            return True

    def _reset_counters(self) -> None:
        self._requests: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()
        self._quota_used = 0
        self._errors_injected = 0
        self._stalls_injected = 0
        self._log: deque[dict] = deque(maxlen=max(1, self.config.request_log_size))
        self._rng = random.Random(f"{self.config.seed}:faults")

    def reset_stats(self) -> None:
        """Zero the counters, the request log and the quota spent today."""
        with self._lock:
            self._reset_counters()

    def reset(self) -> None:
        """``reset_stats`` plus faults back to the configured values."""
        with self._lock:
            self._reset_counters()
            self.faults = self.config.initial_faults()

    def stats(self) -> dict:
        with self._lock:
            return {
                "requests": {name: self._requests.get(name, 0) for name in ENDPOINT_NAMES},
                "requests_total": sum(self._requests.values()),
                "quota_units_used": self._quota_used,
                "quota_per_day": self.faults.quota_per_day,
                "errors_injected": self._errors_injected,
                "stalls_injected": self._stalls_injected,
                "responses_by_status": dict(self._statuses),
                "request_log": list(self._log),
            }

    def _record(self, endpoint: str, method: str, path: str, status: int, started: float,
                injected: str | None) -> None:
        with self._lock:
            self._requests[endpoint] += 1
            self._statuses[str(status)] += 1
            self._log.append({"t": round(time.time(), 3), "method": method,
                              "endpoint": endpoint, "path": path, "status": status,
                              "ms": round((time.perf_counter() - started) * 1000, 2),
                              "injected": injected})

    # -- request handling -----------------------------------------------------------------
    def dispatch(self, method: str, raw_path: str, headers: dict[str, str],
                 body: bytes) -> Reply:
        parts = urlsplit(raw_path)
        path = parts.path.rstrip("/") or "/"
        params = parse_qs(parts.query, keep_blank_values=True)
        if path.startswith("/__sim/"):
            return self._control(method, path, body)
        endpoint = data_api.ENDPOINTS.get(path) or WEB_ENDPOINTS.get(path)
        if endpoint is None:
            return Reply(404, b"<html><body>404 Not Found</body></html>", HTML)
        started = time.perf_counter()
        reply, injected = self._protocol(endpoint, method, params, headers, body)
        self._record(endpoint, method, _redact(parts), reply.status, started, injected)
        return reply

    def _protocol(self, endpoint: str, method: str, params: dict, headers: dict[str, str],
                  body: bytes) -> tuple[Reply, str | None]:
        f = self.faults
        if f.latency_ms:
            self._stop.wait(f.latency_ms / 1000.0)
        with self._lock:
            stall = f.timeout_rate > 0 and self._rng.random() < f.timeout_rate
            fail = f.error_rate > 0 and self._rng.random() < f.error_rate
            code = 503 if self._rng.random() < 0.5 else 500
            self._stalls_injected += stall
            self._errors_injected += fail
        if stall:
            self._stop.wait(f.stall_seconds)
        is_data = endpoint in data_api.COST
        if fail:
            if is_data:
                msg = ("Internal error encountered." if code == 500
                       else "The service is currently unavailable.")
                return google_error(code, msg, "backendError"), f"http_{code}"
            return Reply(500, _PLAIN_500, HTML), "http_500"
        injected = "stall" if stall else None
        wanted = "POST" if endpoint == "player" else "GET"
        if method != wanted:
            return Reply(405, b"", HTML), injected
        if is_data:
            return data_api.handle(self, endpoint, params, headers, self._cache), injected
        return self._web(endpoint, params, headers, body), injected

    def _web(self, endpoint: str, params: dict, headers: dict[str, str], body: bytes) -> Reply:
        f = self.faults
        video_id = (params.get("v") or [""])[0]
        variant = f.blocked_variant if f.blocked else None
        if endpoint == "watch":
            if variant == "ip_blocked":
                return Reply(429, web.captcha_page(video_id).encode(), HTML)
            if variant == "recaptcha":
                return Reply(200, web.captcha_page(video_id).encode(), HTML)
            if f.consent_required and "CONSENT=YES+" not in headers.get("cookie", ""):
                return Reply(200, web.consent_page(video_id).encode(), HTML)
            return Reply(200, web.watch_page(self.world, video_id).encode(), HTML)
        if endpoint == "player":
            if variant in ("ip_blocked", "recaptcha"):
                return Reply(429, b"", HTML)
            key = (params.get("key") or [None])[0]
            return web.player(self.world, key, body, variant == "bot_detected")
        if variant is not None:
            return Reply(429, b"", HTML)
        return self._timedtext(params)

    def _control(self, method: str, path: str, body: bytes) -> Reply:
        try:
            payload = json.loads(body or b"{}") if method == "POST" else {}
            if path == "/__sim/stats" and method == "GET":
                return Reply(200, dumps(self.stats()))
            if path == "/__sim/faults":
                if method == "POST":
                    self.set_faults(**payload)
                return Reply(200, dumps(self.faults.as_dict()))
            if path == "/__sim/reset" and method == "POST":
                self.reset()
                return Reply(200, dumps({"ok": True}))
            if path == "/__sim/world" and method == "GET":
                return Reply(200, dumps(self.world.summary()))
            if path == "/__sim/uploads" and method == "POST":
                v = self.add_upload(payload["channel_id"], payload.get("case", "manual_en"))
                return Reply(200, dumps({"video_id": v.video_id, "case": v.case}))
            if path == "/__sim/make_public" and method == "POST":
                v = self.make_public(payload["video_id"])
                return Reply(200, dumps({"video_id": v.video_id, "case": v.case}))
            if path == "/__sim/finish_stream" and method == "POST":
                v = self.finish_stream(payload["video_id"])
                return Reply(200, dumps({"video_id": v.video_id, "case": v.case}))
            if path == "/__sim/change" and method == "POST":
                action = payload.pop("action", None)
                if not isinstance(action, str):
                    raise ValueError("name the change: {\"action\": ..., ...}")
                return Reply(200, dumps(self.change(action, **payload)))
        except (ValueError, KeyError, TypeError) as exc:
            return Reply(400, dumps({"error": str(exc)}))
        return Reply(404, dumps({"error": f"no such control endpoint: {method} {path}"}))


def _redact(parts) -> str:
    if "key=" not in parts.query:
        return parts.path + (f"?{parts.query}" if parts.query else "")
    query = "&".join("key=REDACTED" if p.startswith("key=") else p
                     for p in parts.query.split("&"))
    return f"{parts.path}?{query}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # keep-alive clients must not hold up shutdown
    allow_reuse_address = True
    sim: Simulator

    def __init__(self, *args: Any, **kwargs: Any):
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address):  # type: ignore[override]
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):  # type: ignore[override]
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_all(self) -> None:
        with self._conns_lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "ESF"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            reply = self.server.sim.dispatch(self.command, self.path, headers, body)
        except Exception as exc:  # pragma: no cover - a bug in the simulator itself
            reply = Reply(500, f"simulator error: {exc!r}".encode(), "text/plain")
        phrase = HTTPStatus(reply.status).phrase if reply.status in HTTPStatus._value2member_map_ \
            else ""
        head = [f"HTTP/1.1 {reply.status} {phrase}", f"Content-Type: {reply.content_type}",
                f"Content-Length: {len(reply.body)}", f"Date: {formatdate(usegmt=True)}",
                "Server: ESF"]
        head += [f"{k}: {v}" for k, v in reply.headers]
        if self.close_connection:
            head.append("Connection: close")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(data + (reply.body if self.command != "HEAD" else b""))
        except OSError:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def running_simulator(config: SimConfig | None = None, host: str = "127.0.0.1",
                      port: int = 0) -> Iterator[Simulator]:
    """Start a simulator on a free loopback port for the duration of the block."""
    sim = Simulator(config, host, port).start()
    try:
        yield sim
    finally:
        sim.stop()


def serve(config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 8765,
          on_ready: Callable[[Simulator], None] | None = None) -> None:
    """Serve until Ctrl-C or SIGTERM (returns normally in both cases)."""
    sim = Simulator(config, host, port)
    previous = None
    if threading.current_thread() is threading.main_thread():
        def _term(signum, frame):
            raise KeyboardInterrupt
        previous = signal.signal(signal.SIGTERM, _term)
    try:
        if on_ready is not None:
            on_ready(sim)
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim._stop.set()
        sim._httpd.close_all()
        sim._httpd.server_close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
