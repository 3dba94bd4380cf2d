"""Resource alarms: above the memory high watermark or below the disk free
limit, publishing connections get connection.blocked and are no longer read;
when the alarm clears they get connection.unblocked and are read again."""

import os
import struct
import time

import pytest

from conftest import header_frame, body_frame, method_frame, shortstr

BLOCKED = (10, 60)
UNBLOCKED = (10, 61)


def publish(c, channel=1, body=b"hello", routing_key="nowhere"):
    c.send(method_frame(channel, 60, 40, struct.pack(">H", 0) + shortstr("")
                        + shortstr(routing_key) + b"\x00")
           + header_frame(channel, len(body)) + body_frame(channel, body))


def expect(c, want, timeout=5):
    ch, cls, meth, args = c.recv_method(timeout=timeout)
    assert (cls, meth) == want, (cls, meth, args)
    return args


def test_disk_alarm_blocks_publishers(start_server, raw_client):
    s = start_server('disk-free-limit = "1000TB"\n')
    s.wait_for_log(r"disk alarm set: free disk space \d+ bytes is below the limit "
                   r"1000000000000000 bytes")
    publisher = raw_client(s)
    publisher.handshake()
    publisher.open_channel(1)
    idle = raw_client(s)
    idle.handshake()
    idle.open_channel(1)
    publish(publisher)
    args = expect(publisher, BLOCKED)
    assert b"low on disk" in args
    # The publisher is no longer read: a channel.open gets no answer.
    publisher.send(method_frame(2, 20, 10, shortstr("")))
    with pytest.raises(TimeoutError):
        publisher.recv_method(timeout=1.0)
    # A connection that does not publish is neither told nor stopped.
    idle.open_channel(2)
    s.wait_for_log(r"connection 127\.0\.0\.1:\d+ -> \S+ blocked: low on disk")


def test_memory_alarm_blocks_publishers(start_server, raw_client):
    s = start_server('memory-high-watermark = "1MB"\n')
    s.wait_for_log(r"memory alarm set")
    c = raw_client(s)
    c.handshake()
    c.open_channel(1)
    publish(c)
    assert b"low on memory" in expect(c, BLOCKED)


def test_client_without_capability_is_just_not_read(start_server, raw_client):
    s = start_server('disk-free-limit = "1000TB"\n')
    c = raw_client(s)
    c.handshake(capabilities={})
    c.open_channel(1)
    publish(c)
    # Frames that arrive with the publish are still handled (as RabbitMQ
    # does); wait so the next one comes in a read of its own.
    time.sleep(0.5)
    c.send(method_frame(2, 20, 10, shortstr("")))
    with pytest.raises(TimeoutError):
        c.recv_method(timeout=1.0)


def test_disk_alarm_clears_and_unblocks(start_server, raw_client, tmp_path):
    # Leave 1 GiB of headroom under the limit, then take 2 GiB of it away
    # with a preallocated file on the same filesystem, then give it back.
    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    headroom = 1 << 30
    if free < 4 * headroom:
        pytest.skip("not enough free disk for the alarm test")
    limit = free - headroom
    s = start_server(f"disk-free-limit = {limit}\n")
    c = raw_client(s)
    c.handshake()
    c.open_channel(1)
    publish(c)
    filler = tmp_path / "filler"
    with open(filler, "wb") as f:
        os.posix_fallocate(f.fileno(), 0, 2 * headroom)
    try:
        s.wait_for_log(r"disk alarm set")
        publish(c)
        assert b"low on disk" in expect(c, BLOCKED)
        c.send(method_frame(2, 20, 10, shortstr("")))
    finally:
        filler.unlink()
    s.wait_for_log(r"disk alarm cleared")
    expect(c, UNBLOCKED)
    # Reading resumed: the channel.open sent while blocked is answered now.
    ch, _ = c.expect_method(20, 11)
    assert ch == 2


def test_pika_blocked_callback(start_server):
    s = start_server('disk-free-limit = "1000TB"\n')
    conn = s.connect()
    blocked = []
    conn.add_on_connection_blocked_callback(lambda c, method: blocked.append(method))
    try:
        ch = conn.channel()
        ch.basic_publish(exchange="", routing_key="nowhere", body=b"x")
        deadline = time.monotonic() + 5
        while not blocked and time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.1)
        assert blocked, "pika saw connection.blocked"
        assert blocked[0].method.reason == "low on disk"
    finally:
        # No conn.close(): a blocked connection is not read, so its close
        # would wait; the server's SIGTERM at teardown ends it (320).
        pass


def test_blocked_publisher_is_not_dropped_for_missed_heartbeats(start_server, raw_client):
    # Its heartbeats go unread while it is blocked; that must not count as a
    # dead peer (RabbitMQ pauses the check too). Our heartbeats keep coming.
    s = start_server('disk-free-limit = "1000TB"\n')
    c = raw_client(s, timeout=10)
    c.handshake(heartbeat=1)
    c.open_channel(1)
    publish(c)
    expect(c, BLOCKED)
    start = time.monotonic()
    heartbeats = 0
    while time.monotonic() - start < 3.5:
        try:
            ftype, _, _ = c.recv_frame(timeout=0.5)
            heartbeats += ftype == 8
        except TimeoutError:
            pass
    assert heartbeats >= 2
    assert "missed heartbeats" not in s.log_text()
