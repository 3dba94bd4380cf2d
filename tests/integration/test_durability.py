"""Durability (issue 5 item 6): persistent messages in durable queues survive
kill -9 and restart; publisher confirms only after the WAL fdatasync."""

import threading
import time

import pika
import pytest

PERSISTENT = pika.BasicProperties(delivery_mode=2)


def drain(ch, queue, timeout=10.0):
    """Every message left in `queue` (basic.get, acked), in order."""
    out = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        method, _props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            return out
        out.append(body.decode())
    raise AssertionError("queue did not drain in time")


def test_kill9_during_confirmed_publish_stream_keeps_every_confirmed_message(server):
    conn = server.connect()
    ch = conn.channel()
    ch.queue_declare("dq", durable=True)
    ch.confirm_delivery()
    confirmed = []
    kill_after = 300

    def killer():
        deadline = time.monotonic() + 30
        while len(confirmed) < kill_after and time.monotonic() < deadline:
            time.sleep(0.001)
        server.kill9()

    t = threading.Thread(target=killer)
    t.start()
    try:
        for i in range(100000):
            # BlockingChannel.basic_publish returns once basic.ack arrived.
            ch.basic_publish("", "dq", f"m{i}".encode(), PERSISTENT)
            confirmed.append(f"m{i}")
    except (pika.exceptions.AMQPError, ConnectionError, OSError):
        pass
    t.join()
    assert len(confirmed) >= kill_after

    server.restart()
    conn = server.connect()
    ch = conn.channel()
    ch.queue_declare("dq", durable=True)
    got = drain(ch, "dq")
    # Every confirmed message is there, in publish order; at most the one
    # publish in flight at the kill may be there unconfirmed.
    assert got[: len(confirmed)] == confirmed
    assert len(got) - len(confirmed) <= 1
    conn.close()


def test_unacked_messages_come_back_after_kill9_and_acked_ones_do_not(server):
    conn = server.connect()
    ch = conn.channel()
    ch.queue_declare("work", durable=True)
    ch.confirm_delivery()
    for i in range(20):
        ch.basic_publish("", "work", f"w{i}".encode(), PERSISTENT)
    # Take 8, ack the first 5 (multiple), keep 3 unacked.
    tags = []
    for _ in range(8):
        method, _p, _b = ch.basic_get("work", auto_ack=False)
        tags.append(method.delivery_tag)
    ch.basic_ack(tags[4], multiple=True)
    # A round trip makes sure the ack was processed (and logged).
    ch.queue_declare("work", durable=True, passive=True)
    time.sleep(0.2)  # the ack's entry reaches the WAL (acks are not confirmed)
    server.kill9()

    server.restart()
    conn = server.connect()
    ch = conn.channel()
    ok = ch.queue_declare("work", durable=True)
    assert ok.method.message_count == 15
    method, _p, body = ch.basic_get("work", auto_ack=True)
    assert body == b"w5" and method.redelivered
    assert drain(ch, "work") == [f"w{i}" for i in range(6, 20)]
    conn.close()


def test_transient_messages_and_queues_do_not_survive_a_restart(server):
    conn = server.connect()
    ch = conn.channel()
    ch.queue_declare("mixed", durable=True)
    ch.queue_declare("scratch", durable=False)
    ch.confirm_delivery()
    ch.basic_publish("", "mixed", b"p1", PERSISTENT)
    ch.basic_publish("", "mixed", b"t1")  # delivery-mode 1: memory only
    ch.basic_publish("", "mixed", b"p2", PERSISTENT)
    ch.basic_publish("", "scratch", b"s", PERSISTENT)
    conn.close()
    assert server.stop() == 0

    server.restart()
    conn = server.connect()
    ch = conn.channel()
    ch.queue_declare("mixed", durable=True)
    assert drain(ch, "mixed") == ["p1", "p2"]
    ok = ch.queue_declare("scratch", durable=False)
    assert ok.method.message_count == 0
    conn.close()


def test_durable_exchanges_queues_and_bindings_survive_kill9(server):
    conn = server.connect()
    ch = conn.channel()
    ch.exchange_declare("dx", "topic", durable=True, arguments={"x-custom": "kept"})
    ch.exchange_declare("tx", "fanout", durable=False)
    ch.queue_declare("dq2", durable=True, arguments={"x-max-length": 100})
    ch.queue_bind("dq2", "dx", "a.*")
    ch.queue_bind("dq2", "amq.direct", "k")
    ch.queue_declare("gone", durable=True)
    ch.queue_delete("gone")
    ch.confirm_delivery()
    ch.basic_publish("dx", "a.b", b"via-topic", PERSISTENT)
    server.kill9()

    server.restart()
    conn = server.connect()
    ch = conn.channel()
    # Passive declares succeed only if the objects came back as declared.
    ch.exchange_declare("dx", "topic", durable=True, passive=True)
    ch.queue_declare("dq2", durable=True, passive=True)
    # Redeclare with the same arguments is accepted (arguments were kept).
    ch.exchange_declare("dx", "topic", durable=True, arguments={"x-custom": "kept"})
    ch.queue_declare("dq2", durable=True, arguments={"x-max-length": 100})
    ch.basic_publish("dx", "a.c", b"topic-again", PERSISTENT)
    ch.basic_publish("amq.direct", "k", b"direct", PERSISTENT)
    ch.basic_publish("dx", "zzz", b"unrouted", PERSISTENT)
    assert drain(ch, "dq2") == ["via-topic", "topic-again", "direct"]
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as e:
        ch.exchange_declare("tx", "fanout", passive=True)
    assert e.value.reply_code == 404
    ch = conn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as e:
        ch.queue_declare("gone", passive=True)
    assert e.value.reply_code == 404
    conn.close()


def _dir_bytes(path):
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def test_draining_a_durable_queue_returns_disk(server):
    conn = server.connect()
    ch = conn.channel()
    ch.queue_declare("big", durable=True)
    body = b"x" * 4096
    n = 20000  # 80 MiB: more than one 64 MiB WAL file
    for _ in range(n):
        ch.basic_publish("", "big", body, PERSISTENT)
    ch.queue_declare("big", durable=True, passive=True)  # round trip
    full = _dir_bytes(server.data_dir)
    assert full > n * 4096
    got = 0
    for method, _p, _b in ch.consume("big", auto_ack=True, inactivity_timeout=2):
        if method is None:
            break
        got += 1
    assert got == n
    # The released WAL file's segments are deleted in the background.
    deadline = time.monotonic() + 10
    while _dir_bytes(server.data_dir) > full // 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _dir_bytes(server.data_dir) <= full // 2
    conn.close()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 24 MiB tmpfs (needs CAP_SYS_ADMIN; skipped otherwise)."""
    import subprocess
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_full_disk_nacks_then_resumes_and_restart_gives_memory_state(start_server, tiny_disk):
    """Publish until the WAL hits ENOSPC: publishes are nacked, not lost or
    acked; acks keep working in memory; once space is freed the queue resumes
    by itself (snapshot + gap entries) and a restart gives exactly the
    in-memory state."""
    filler = tiny_disk / "filler"
    filler.write_bytes(b"x" * (8 << 20))
    server = start_server(args=["--disk-free-limit", "0"], start=False)
    server.data_dir = tiny_disk / "data"
    server.start()
    conn = server.connect()
    ch = conn.channel()
    ch.queue_declare("full", durable=True)
    ch.confirm_delivery()
    body = b"b" * (64 << 10)
    acked, nacked = [], []
    for i in range(400):  # 25 MiB: more than the disk holds
        try:
            ch.basic_publish("", "full", body + f"|m{i}".encode(), PERSISTENT)
            acked.append(f"m{i}")
        except pika.exceptions.NackError:
            nacked.append(f"m{i}")
            if len(nacked) >= 3:
                break
    assert acked and len(nacked) == 3, (len(acked), len(nacked))
    server.wait_for_log(r"queue degraded")
    # Acks work in memory while degraded: take (and ack) the first 5.
    taken = []
    for _ in range(5):
        method, _props, b = ch.basic_get("full", auto_ack=False)
        ch.basic_ack(method.delivery_tag)
        taken.append(b.decode().split("|")[1])
    assert taken == acked[:5]

    filler.unlink()
    server.wait_for_log(r"resumed with a snapshot", timeout=10)
    resumed = []
    for i in range(1000, 1005):
        ch.basic_publish("", "full", body + f"|m{i}".encode(), PERSISTENT)
        resumed.append(f"m{i}")
    method, _props, b = ch.basic_get("full", auto_ack=False)
    ch.basic_ack(method.delivery_tag)
    assert b.decode().split("|")[1] == acked[5]
    q = ch.queue_declare("full", durable=True, passive=True)
    in_memory = q.method.message_count
    conn.close()

    assert server.stop() == 0
    server.restart()
    conn = server.connect()
    ch = conn.channel()
    got = [b.split("|")[1] for b in drain(ch, "full", timeout=30)]
    conn.close()
    # Exactly the in-memory state: the nacked publishes were kept (they may
    # be there: a nack promises nothing), in publish order.
    assert len(got) == in_memory
    assert got == acked[6:] + nacked + resumed
