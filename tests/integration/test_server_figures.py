"""Figures of the server's own cost, each bounded so a regression fails:
memory per idle connection, and write syscalls per delivered message (the
write path coalesces frames into one write per batch). Run with -s to see
the figures (docs/operations.md quotes them)."""

import re
import time

from conftest import RawAmqp

IDLE_CONNECTIONS = 400
IDLE_BYTES_MAX = 64 << 10
MESSAGES = 20000
WRITES_PER_MESSAGE_MAX = 0.25


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_memory_per_idle_connection(server):
    warm = RawAmqp(server)
    warm.handshake()
    warm.open_channel(1)
    before = rss_bytes(server.proc.pid)
    conns = []
    try:
        for _ in range(IDLE_CONNECTIONS):
            c = RawAmqp(server)
            c.handshake()
            c.open_channel(1)
            conns.append(c)
        time.sleep(0.3)
        per = (rss_bytes(server.proc.pid) - before) / IDLE_CONNECTIONS
    finally:
        for c in conns:
            c.close()
        warm.close()
    print(f"\nresident memory per idle connection (1 channel): {per / 1024:.1f} KiB")
    assert per < IDLE_BYTES_MAX


def test_writes_per_delivery(server):
    publisher = server.connect()
    try:
        ch = publisher.channel()
        ch.queue_declare("figures")
        for i in range(MESSAGES):
            ch.basic_publish("", "figures", b"m%d" % i)
        # Wait until every message is in (a passive declare counts them).
        deadline = time.monotonic() + 30
        while ch.queue_declare("figures", passive=True).method.message_count < MESSAGES:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        publisher.close()
    conn = server.connect(client_properties={"connection_name": "figures-consumer"})
    try:
        ch = conn.channel()
        ch.basic_qos(prefetch_count=1000)
        got = 0
        start = time.monotonic()
        for method, _props, _body in ch.consume("figures", inactivity_timeout=5):
            assert method is not None, f"stalled after {got} deliveries"
            got += 1
            if got % 500 == 0:
                ch.basic_ack(method.delivery_tag, multiple=True)
            if got == MESSAGES:
                break
        elapsed = time.monotonic() - start
        ch.cancel()
    finally:
        conn.close()
    peer = server.wait_for_log(r"connection opened: (\S+) -> .* name 'figures-consumer'").group(1)
    m = server.wait_for_log(rf"connection closed: {re.escape(peer)} .*"
                            r"\((\d+) bytes in, (\d+) bytes out in (\d+) writes\)")
    bytes_out, writes = int(m.group(2)), int(m.group(3))
    per = writes / MESSAGES
    print(f"\n{MESSAGES} deliveries (prefetch 1000, ack every 500) in {elapsed:.2f} s "
          f"({MESSAGES / elapsed:.0f}/s, pika-bound): {writes} writes of "
          f"{bytes_out / writes:.0f} bytes on average, {per:.4f} writes per delivery")
    assert per < WRITES_PER_MESSAGE_MAX
