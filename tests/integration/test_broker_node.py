"""Runs test_node_broker.js (Node's amqplib) against a real server, and the
amqp-tools command-line clients; each case bounded in time."""

import pathlib
import shutil
import subprocess

import pytest

HERE = pathlib.Path(__file__).parent
NODE_CASES = ["topics", "confirms", "rpc", "deadLetterAndTtl", "prefetchAndNack", "errors"]
TOOL_TIMEOUT_S = 15


@pytest.mark.parametrize("case", NODE_CASES)
def test_node_amqplib(server, node_run, case):
    source = (HERE / "test_node_broker.js").read_text()
    # node_run executes a copy of the script; the case name goes in argv[2].
    source = source.replace("const only = process.argv[2];", f"const only = {case!r};")
    r = node_run(source, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == f"ok {case}"


@pytest.mark.skipif(shutil.which("amqp-publish") is None, reason="amqp-tools missing")
def test_amqp_tools_topic_and_consume(server):
    conn = server.connect()
    try:
        ch = conn.channel()
        ch.queue_declare("tools_topic")
        ch.queue_bind("tools_topic", "amq.topic", "tools.#")
    finally:
        conn.close()
    for key in ("tools.a", "other.b", "tools.c.d"):
        subprocess.run(["amqp-publish", "-u", server.url, "-e", "amq.topic", "-r", key,
                        "-b", key], check=True, timeout=TOOL_TIMEOUT_S)
    out = subprocess.run(["amqp-consume", "-u", server.url, "-q", "tools_topic", "-c", "2",
                          "cat"], check=True, capture_output=True, timeout=TOOL_TIMEOUT_S)
    assert out.stdout == b"tools.atools.c.d"
    empty = subprocess.run(["amqp-get", "-u", server.url, "-q", "tools_topic"],
                           capture_output=True, timeout=TOOL_TIMEOUT_S)
    assert empty.returncode != 0  # amqp-get exits non-zero on an empty queue
