"""CI smoke of the load generator: about 3 seconds of persistent publishing
with confirms through quorummq-bench (rabbitmq-c) against a fresh server, which
must pass the generator's own check that every confirmed message was consumed.

The full side-by-side comparison with RabbitMQ is bench/compare, run by hand.
Set QMQ_BENCH_SMOKE_URI=amqp://... to aim the smoke at another broker (for
instance a RabbitMQ node) instead of a fresh quorummq-server.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("QMQ_BUILD_DIR", REPO / "build"))
BENCH = BUILD_DIR / "bin" / "quorummq-bench"
SERVER = BUILD_DIR / "bin" / "quorummq-server"
EXTERNAL_URI = os.environ.get("QMQ_BENCH_SMOKE_URI")

RUN_S = 3
TIMEOUT_S = 90  # declare + 3 s + drain + teardown, on a loaded 2-core machine


def broker_url(request):
    if EXTERNAL_URI:
        return EXTERNAL_URI, None
    if not SERVER.exists():
        pytest.skip(f"{SERVER} not built yet")
    server = request.getfixturevalue("server")
    return server.url, server


def run_bench(url, *args):
    cmd = [str(BENCH), "--uri", url, "--json", "-", "--quiet", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    try:
        result = json.loads(proc.stdout)
    except json.JSONDecodeError:
        result = None
    return proc, result


@pytest.mark.skipif(not BENCH.exists(), reason=f"{BENCH} not built yet")
def test_bench_confirms_every_message_consumed(request):
    url, server = broker_url(request)
    pid_args = ["--broker-pid", str(server.proc.pid)] if server is not None else []
    proc, result = run_bench(url, "--producers", "1", "--consumers", "1", "--queues", "1",
                             "--queue-prefix", "qmq-bench-smoke", "--durable", "--persistent",
                             "--size", "1024", "--confirm", "50", "--prefetch", "200",
                             "--ack-every", "10", "--duration", str(RUN_S), *pid_args)
    assert proc.returncode == 0, f"quorummq-bench exited {proc.returncode}:\n{proc.stderr}"
    assert result is not None, f"no JSON on stdout:\n{proc.stdout}\n{proc.stderr}"
    assert result["ok"], result["error"]
    assert result["published"] > 0
    assert result["confirmed"] == result["published"]
    assert result["nacked"] == 0
    verify = result["verify"]
    assert verify["missing"] == 0
    assert verify["duplicates"] == 0
    assert verify["expected"] == result["confirmed"]
    assert result["consumed"] == result["published"]
    assert result["latency_us"]["count"] == result["consumed"]
    assert result["confirm_latency_us"]["count"] == result["confirmed"]
    if server is not None:
        assert result["broker"]["rss_peak_bytes"] > 0


@pytest.mark.skipif(not BENCH.exists(), reason=f"{BENCH} not built yet")
def test_bench_fanout_reaches_every_queue(request):
    url, _ = broker_url(request)
    proc, result = run_bench(url, "--producers", "1", "--consumers", "3", "--queues", "3",
                             "--queue-prefix", "qmq-bench-smoke-fanout",
                             "--exchange", "qmq-bench-smoke-fx", "--exchange-type", "fanout",
                             "--confirm", "20", "--count", "300")
    assert proc.returncode == 0, f"quorummq-bench exited {proc.returncode}:\n{proc.stderr}"
    assert result["published"] == 300
    assert result["verify"]["expected"] == 900
    assert result["verify"]["missing"] == 0
    assert result["consumed"] == 900
