"""Flags, config file and start-up failures: each bad input exits non-zero
with one clear line naming what is wrong and where."""

import socket
import subprocess

import pytest

from conftest import BINARY, Server

RUN_TIMEOUT_S = 15


def run(*args, cwd=None):
    return subprocess.run([str(BINARY), *args], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S, cwd=cwd)


def one_error_line(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert lines[0].startswith("quorummq-server: error: "), lines[0]
    return lines[0]


def test_help_lists_every_flag_and_exits_zero():
    r = run("--help")
    assert r.returncode == 0
    for flag in ("--node-id", "--data-dir", "--amqp-listen", "--cluster-listen", "--peers",
                 "--http-listen", "--log-level", "--config", "--memory-high-watermark",
                 "--disk-free-limit", "--max-connections", "--channel-max", "--frame-max",
                 "--heartbeat", "--max-message-size"):
        assert flag in r.stdout, flag
    assert "unused for now" in r.stdout
    assert "not yet supported" in r.stdout


def test_unknown_flag(tmp_path):
    r = run("--no-such-flag", "1")
    assert r.returncode == 2
    assert "no-such-flag" in one_error_line(r)


@pytest.mark.parametrize("flag,value,expect", [
    ("--amqp-listen", "localhost", "--amqp-listen"),
    ("--amqp-listen", "127.0.0.1:99999", "port must be 0..65535"),
    ("--heartbeat", "abc", "--heartbeat"),
    ("--frame-max", "100", "out of range"),
    ("--log-level", "loud", "--log-level"),
    ("--disk-free-limit", "5 parsecs", "unknown unit"),
    ("--memory-high-watermark", "1.5", "fraction"),
    ("--max-message-size", "1GiB", "out of range"),
])
def test_bad_flag_values(tmp_path, flag, value, expect):
    r = run("--data-dir", str(tmp_path / "d"), flag, value)
    assert r.returncode == 2
    line = one_error_line(r)
    assert expect in line and value in line or expect in line, line
    assert not (tmp_path / "d").exists(), "nothing is created before flags are valid"


@pytest.mark.parametrize("flag,value", [
    ("--peers", "b@127.0.0.1:25673"),
    ("--cluster-listen", "127.0.0.1:25672"),
])
def test_cluster_flags_refused_for_now(tmp_path, flag, value):
    r = run("--data-dir", str(tmp_path / "d"), flag, value)
    assert r.returncode != 0
    assert "not yet supported" in one_error_line(r)


def test_unknown_config_key_names_file_and_line(tmp_path):
    cfg = tmp_path / "q.toml"
    cfg.write_text('data-dir = "x"\n# comment\nheart_beat = 5\n')
    r = run("--config", str(cfg))
    assert r.returncode == 2
    assert f"{cfg}:3: unknown key 'heart_beat'" in one_error_line(r)


def test_bad_config_value_names_line(tmp_path):
    cfg = tmp_path / "q.toml"
    cfg.write_text('\n\namqp-listen = "no-port"\n')
    r = run("--config", str(cfg))
    assert r.returncode == 2
    line = one_error_line(r)
    assert f"{cfg}:3" in line and "amqp-listen" in line


def test_config_syntax_error(tmp_path):
    cfg = tmp_path / "q.toml"
    cfg.write_text('heartbeat = \n')
    r = run("--config", str(cfg))
    assert r.returncode == 2
    assert f"{cfg}:1" in one_error_line(r)


def test_missing_config_file(tmp_path):
    r = run("--config", str(tmp_path / "nope.toml"))
    assert r.returncode == 2
    assert "nope.toml" in one_error_line(r)


def test_data_dir_that_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = run("--data-dir", str(f), "--amqp-listen", "127.0.0.1:0")
    assert r.returncode == 1
    line = one_error_line(r)
    assert "unusable data dir" in line and str(f) in line


def test_data_dir_not_creatable(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = run("--data-dir", str(f / "sub"), "--amqp-listen", "127.0.0.1:0")
    assert r.returncode == 1
    assert "cannot create" in one_error_line(r)


def test_second_server_on_same_data_dir_refused(server):
    r = run("--data-dir", str(server.data_dir), "--amqp-listen", "127.0.0.1:0")
    assert r.returncode == 1
    line = one_error_line(r)
    assert "in use by another quorummq-server" in line
    assert str(server.proc.pid) in line
    assert server.running


def test_port_in_use(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run("--data-dir", str(tmp_path / "d"), "--amqp-listen", f"127.0.0.1:{port}")
    assert r.returncode == 1
    line = one_error_line(r)
    assert f"127.0.0.1:{port}" in line


def test_flag_wins_over_config(start_server, tmp_path):
    # The file asks for a log level that would hide the start-up lines; the
    # flag asks for info. The file's heartbeat stays.
    s = start_server('log-level = "error"\nheartbeat = 7\nnode-id = "from-file"\n',
                     args=["--log-level", "info"])
    text = s.log_text()
    assert "heartbeat 7 s" in text
    assert "node 'from-file'" in text


def test_defaults_logged(server):
    text = server.log_text()
    assert "max message size 134217728 bytes" in text
    assert "channel max 2047" in text
    assert "frame max 131072" in text
    assert "HTTP listener" in text and "not served yet" in text


def test_default_data_dir_is_dot_data(tmp_path):
    s = Server(tmp_path, name="default")
    cmd = [str(BINARY), "--amqp-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"]
    log = open(tmp_path / "default.log", "wb")
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    s.proc = proc
    try:
        s.wait_for_log(r"AMQP listener on 127\.0\.0\.1:\d+")
        assert (tmp_path / "data" / "LOCK").exists()
    finally:
        assert s.stop() == 0
