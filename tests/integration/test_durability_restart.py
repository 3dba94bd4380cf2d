"""Restart cycles of a durable queue holding confirmed persistent messages.

The sequence of the session-2 recovery shortfall (docs/durability.md): a
backlog published with confirms, SIGTERM, a restart that is SIGTERMed about
a second after its listener line (the segment thread is then moving the
big WAL file into segments), and more restarts. Every confirmed message must
come back each time, and no group may refuse to start.
"""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("QMQ_BUILD_DIR", REPO / "build"))
BENCH = BUILD_DIR / "bin" / "quorummq-bench"

MESSAGES = 50000
QUEUE = "restart-0"
BENCH_TIMEOUT_S = 60


def count(server):
    conn = server.connect()
    try:
        ch = conn.channel()
        return ch.queue_declare(QUEUE, durable=True, passive=True).method.message_count
    finally:
        conn.close()


@pytest.mark.skipif(not BENCH.exists(), reason=f"{BENCH} not built yet")
def test_confirmed_backlog_survives_quick_restarts(server):
    cmd = [str(BENCH), "--uri", server.url, "--json", "-", "--quiet", "-x", "1", "-y", "0",
           "--queue-prefix", "restart", "--durable", "--persistent", "--confirm", "100",
           "--count", str(MESSAGES), "--size", "128", "--keep-queues"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=BENCH_TIMEOUT_S)
    assert proc.returncode == 0, f"quorummq-bench exited {proc.returncode}:\n{proc.stderr}"
    result = json.loads(proc.stdout)
    assert result["confirmed"] == MESSAGES and result["nacked"] == 0
    assert count(server) == MESSAGES

    # Run 1 ends with the whole backlog in the WAL; each later run starts by
    # moving what the WAL holds, and is stopped at a different moment of it.
    for pause_s in (1.0, 0.0, 0.3, 1.0):
        assert server.stop() == 0
        server.restart()
        assert count(server) == MESSAGES, f"after a restart stopped {pause_s} s in"
        time.sleep(pause_s)
    assert server.stop() == 0
    server.restart()
    assert count(server) == MESSAGES
    assert "refuses to start" not in server.log_text()
