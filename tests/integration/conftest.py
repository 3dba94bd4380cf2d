"""Integration-test harness: real quorummq-server processes and real clients.

Fixtures
  server        a fresh server with defaults (guest/guest, vhost "/"), on a
                free port (the server binds port 0 and logs the real one), with
                its own temporary data dir; stopped with SIGTERM at teardown,
                where it must exit 0.
  start_server  factory: start_server(config_toml="", args=[]) -> Server.
  raw_client    factory: raw_client(server) -> RawAmqp, a socket speaking
                AMQP frames by hand, for bad-input tests.
  node_run      node_run(js_source, env={}, timeout=20) runs a Node script
                with amqplib resolvable and QMQ_URL set.

The binary is $QMQ_BUILD_DIR/bin/quorummq-server (default <repo>/build).
Each server's log is kept in its temp dir and printed when a test fails.
"""

import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pika
import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("QMQ_BUILD_DIR", REPO / "build"))
BINARY = BUILD_DIR / "bin" / "quorummq-server"
INTEGRATION_DIR = Path(__file__).resolve().parent

START_TIMEOUT_S = 15
STOP_TIMEOUT_S = 15
LISTENER_RE = re.compile(rb"AMQP listener on (\S+):(\d+)")


def pytest_collection_modifyitems(config, items):
    # Every test is bounded in time even without pytest-timeout installed:
    # the fixtures and helpers below all take timeouts.
    pass


class Server:
    """One quorummq-server process."""

    def __init__(self, workdir, config_toml="", args=(), name="server"):
        self.workdir = Path(workdir)
        self.data_dir = self.workdir / "data"
        self.log_path = self.workdir / f"{name}.log"
        self.config_path = None
        if config_toml:
            self.config_path = self.workdir / f"{name}.toml"
            self.config_path.write_text(config_toml)
        self.args = list(args)
        self.host = "127.0.0.1"
        self.port = 0
        self.proc = None
        self.returncode = None
        self._log_offset = 0

    # --- process control ---

    def command(self, port=None):
        cmd = [str(BINARY), "--data-dir", str(self.data_dir),
               "--http-listen", "127.0.0.1:0",
               "--amqp-listen", f"127.0.0.1:{self.port if port is None else port}"]
        if self.config_path:
            cmd += ["--config", str(self.config_path)]
        return cmd + self.args

    def start(self):
        assert BINARY.exists(), f"{BINARY} not built (set QMQ_BUILD_DIR)"
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log.close()
        self.returncode = None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            m = LISTENER_RE.search(self.log_bytes()[self._log_offset:])
            if m:
                self.port = int(m.group(2))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} at start:\n"
                                   + self.log_text())
            time.sleep(0.02)
        self.kill9()
        raise RuntimeError("server did not log its listener in time:\n" + self.log_text())

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT_S):
        """Signals the server and waits; returns its exit code."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"server did not exit within {timeout}s of {sig!r}")
        self.returncode = self.proc.returncode
        self.proc = None
        return self.returncode

    def wait(self, timeout=STOP_TIMEOUT_S):
        """Waits for an exit already under way (no signal); returns the code."""
        if self.proc is not None:
            self.returncode = self.proc.wait(timeout=timeout)
            self.proc = None
        return self.returncode

    def kill9(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.returncode = self.proc.returncode
            self.proc = None

    def restart(self):
        """Starts again on the same port and data dir (after stop or kill9)."""
        assert self.proc is None
        return self.start()

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # --- logs ---

    def log_bytes(self):
        try:
            return self.log_path.read_bytes()
        except FileNotFoundError:
            return b""

    def log_text(self):
        return self.log_bytes().decode("utf-8", "replace")

    def wait_for_log(self, pattern, timeout=5.0):
        """Waits until `pattern` (a regex) appears in the log; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log_text())
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError(f"log never matched {pattern!r}:\n{self.log_text()}")
            time.sleep(0.05)

    # --- clients ---

    @property
    def url(self):
        return f"amqp://guest:guest@{self.host}:{self.port}/%2F"

    def params(self, user="guest", password="guest", vhost="/", **kw):
        kw.setdefault("connection_attempts", 1)
        kw.setdefault("socket_timeout", 5)
        kw.setdefault("blocked_connection_timeout", None)
        return pika.ConnectionParameters(host=self.host, port=self.port, virtual_host=vhost,
                                         credentials=pika.PlainCredentials(user, password),
                                         **kw)

    def connect(self, **kw):
        return pika.BlockingConnection(self.params(**kw))


@pytest.fixture
def start_server(tmp_path, request):
    servers = []

    def start(config_toml="", args=(), start=True):
        workdir = tmp_path / f"server{len(servers)}"
        workdir.mkdir()
        s = Server(workdir, config_toml, args, name="server")
        servers.append(s)
        return s.start() if start else s

    yield start

    failed = getattr(request.node, "rep_call", None)
    for s in servers:
        running = s.running
        rc = s.stop() if running else s.returncode
        if failed is not None and failed.failed:
            print(f"\n----- log of {s.log_path} -----\n{s.log_text()}")
        if running:
            assert rc == 0, f"server exited {rc} on SIGTERM:\n{s.log_text()}"


@pytest.fixture
def server(start_server):
    return start_server()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


# --- raw AMQP frames, for bad-input tests ---

FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT = 1, 2, 3, 8
FRAME_END = 0xCE
PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"


def shortstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">B", len(b)) + b


def longstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">I", len(b)) + b


def table(entries=None):
    """Encodes a field table of str -> (tag, raw encoded value) or str/int/bool."""
    body = b""
    for key, value in (entries or {}).items():
        if isinstance(value, bool):
            enc = b"t" + struct.pack(">B", value)
        elif isinstance(value, int):
            enc = b"l" + struct.pack(">q", value)
        elif isinstance(value, str):
            enc = b"S" + longstr(value)
        elif isinstance(value, dict):
            enc = b"F" + table(value)
        else:
            tag, raw = value
            enc = tag + raw
        body += shortstr(key) + enc
    return longstr(body)


def frame(ftype, channel, payload, end=FRAME_END):
    return struct.pack(">BHI", ftype, channel, len(payload)) + payload + bytes([end])


def method_frame(channel, class_id, method_id, args=b""):
    return frame(FRAME_METHOD, channel, struct.pack(">HH", class_id, method_id) + args)


def header_frame(channel, body_size, flags=0, props=b"", class_id=60):
    return frame(FRAME_HEADER, channel,
                 struct.pack(">HHQH", class_id, 0, body_size, flags) + props)


def body_frame(channel, data):
    return frame(FRAME_BODY, channel, data)


class Closed(Exception):
    pass


class RawAmqp:
    """A client socket that writes frames by hand and reads what comes back."""

    def __init__(self, server, timeout=5.0):
        self.sock = socket.create_connection((server.host, server.port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.timeout = timeout
        self.heartbeat = 0
        self.frame_max = 0
        self.channel_max = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no data from server in time")
        r, _, _ = select.select([self.sock], [], [], remaining)
        if not r:
            raise TimeoutError("no data from server in time")
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise Closed("server closed the socket")
        self.buf += chunk

    def recv_exact(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self, timeout=None):
        """Returns (type, channel, payload); raises Closed at EOF."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            if len(self.buf) >= 7:
                ftype, channel, size = struct.unpack(">BHI", self.buf[:7])
                if len(self.buf) >= 7 + size + 1:
                    payload = self.buf[7:7 + size]
                    end = self.buf[7 + size]
                    self.buf = self.buf[8 + size:]
                    assert end == FRAME_END, f"server sent bad frame-end {end:#x}"
                    return ftype, channel, payload
            self._fill(deadline)

    def recv_method(self, timeout=None, skip_heartbeats=True):
        """Returns (channel, class_id, method_id, args)."""
        while True:
            ftype, channel, payload = self.recv_frame(timeout)
            if ftype == FRAME_HEARTBEAT and skip_heartbeats:
                continue
            assert ftype == FRAME_METHOD, f"expected a method frame, got type {ftype}"
            class_id, method_id = struct.unpack(">HH", payload[:4])
            return channel, class_id, method_id, payload[4:]

    def expect_method(self, class_id, method_id, timeout=None):
        ch, c, m, args = self.recv_method(timeout)
        assert (c, m) == (class_id, method_id), f"expected {class_id}.{method_id}, got {c}.{m}"
        return ch, args

    def handshake(self, user="guest", password="guest", vhost="/", heartbeat=0,
                  frame_max=None, channel_max=None, capabilities=None):
        """Runs header, start-ok (PLAIN), tune-ok and open; returns open-ok."""
        self.send(PROTOCOL_HEADER)
        _, args = self.expect_method(10, 10)  # connection.start
        tune_caps = capabilities if capabilities is not None else {
            "connection.blocked": True, "authentication_failure_close": True}
        props = table({"product": "raw-test", "capabilities": tune_caps})
        response = b"\x00" + user.encode() + b"\x00" + password.encode()
        self.send(method_frame(0, 10, 11, props + shortstr("PLAIN") + longstr(response)
                               + shortstr("en_US")))
        _, args = self.expect_method(10, 30)  # connection.tune
        server_channel_max, server_frame_max, server_heartbeat = struct.unpack(">HIH", args[:8])
        self.channel_max = server_channel_max if channel_max is None else channel_max
        self.frame_max = server_frame_max if frame_max is None else frame_max
        self.heartbeat = heartbeat
        self.send(method_frame(0, 10, 31, struct.pack(">HIH", self.channel_max, self.frame_max,
                                                      heartbeat)))
        self.send(method_frame(0, 10, 40, shortstr(vhost) + shortstr("") + b"\x00"))
        return self.expect_method(10, 41)  # connection.open-ok

    def open_channel(self, channel):
        self.send(method_frame(channel, 20, 10, shortstr("")))
        return self.expect_method(20, 11)

    def expect_connection_close(self, timeout=None):
        """Reads until connection.close; answers close-ok. Returns (code, text, class, method)."""
        while True:
            ch, c, m, args = self.recv_method(timeout)
            if (c, m) == (10, 50):
                code, = struct.unpack(">H", args[:2])
                n = args[2]
                text = args[3:3 + n].decode()
                cls, meth = struct.unpack(">HH", args[3 + n:7 + n])
                try:
                    self.send(method_frame(0, 10, 51))
                except OSError:
                    pass
                return code, text, cls, meth

    def expect_channel_close(self, channel, timeout=None):
        """Reads until channel.close on `channel`; answers close-ok."""
        while True:
            ch, c, m, args = self.recv_method(timeout)
            if (c, m) == (10, 50):
                raise AssertionError(f"connection closed instead: {args!r}")
            if ch == channel and (c, m) == (20, 40):
                code, = struct.unpack(">H", args[:2])
                n = args[2]
                text = args[3:3 + n].decode()
                cls, meth = struct.unpack(">HH", args[3 + n:7 + n])
                self.send(method_frame(channel, 20, 41))
                return code, text, cls, meth

    def expect_eof(self, timeout=None):
        """Waits until the server closes the socket; returns the frames seen before."""
        seen = []
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                seen.append(self.recv_frame(max(0.01, deadline - time.monotonic())))
            except Closed:
                return seen
            except AssertionError:
                self.buf = b""


@pytest.fixture
def raw_client():
    clients = []

    def make(server, timeout=5.0):
        c = RawAmqp(server, timeout)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


# --- Node's amqplib ---

@pytest.fixture
def node_run(server):
    node = shutil.which("node")
    if node is None or not (INTEGRATION_DIR / "node_modules" / "amqplib").exists():
        pytest.skip("node or amqplib missing (scripts/setup installs them)")

    def run(js_source, env=None, timeout=20):
        script = tempfile.NamedTemporaryFile("w", suffix=".js", dir=INTEGRATION_DIR,
                                             delete=False)
        try:
            script.write(js_source)
            script.close()
            full_env = dict(os.environ, QMQ_URL=server.url, **(env or {}))
            return subprocess.run([node, script.name], cwd=INTEGRATION_DIR, env=full_env,
                                  capture_output=True, text=True, timeout=timeout)
        finally:
            os.unlink(script.name)

    return run
