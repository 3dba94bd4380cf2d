"""Publisher confirms coalesced as RabbitMQ does (basic.ack multiple=true for a
contiguous run decided together), tx.commit-ok after the disk, through a
real quorummq-server. Raw frames, so that many publishes arrive in one read
and every confirm frame is seen as sent. Every wait is bounded."""

import struct
import time

import pika

from conftest import (body_frame, header_frame, method_frame, shortstr, table)

WAIT_S = 5


def publish_frames(channel, routing_key, body, persistent=False, exchange=""):
    args = struct.pack(">H", 0) + shortstr(exchange) + shortstr(routing_key) + b"\x00"
    flags, props = (0x1000, b"\x02") if persistent else (0, b"")
    return (method_frame(channel, 60, 40, args)
            + header_frame(channel, len(body), flags, props)
            + body_frame(channel, body))


def declare(c, channel, queue, durable=False):
    bits = 0x02 if durable else 0
    c.send(method_frame(channel, 50, 10, struct.pack(">H", 0) + shortstr(queue)
                        + bytes([bits]) + table()))
    c.expect_method(50, 11)


def confirm_select(c, channel):
    c.send(method_frame(channel, 85, 10, b"\x00"))
    c.expect_method(85, 11)


def read_confirms(c, published, timeout=WAIT_S):
    """Reads basic.ack/nack until tags 1..published are confirmed.
    Returns (frames [(tag, multiple, ack)], {tag: ack}); fails on a tag
    confirmed twice or never published."""
    frames, outcome = [], {}
    deadline = time.monotonic() + timeout
    while len(outcome) < published:
        _ch, cls, meth, args = c.recv_method(max(0.05, deadline - time.monotonic()))
        if (cls, meth) not in ((60, 80), (60, 120)):
            continue
        tag, = struct.unpack(">Q", args[:8])
        multiple = bool(args[8] & 1)
        ack = (cls, meth) == (60, 80)
        frames.append((tag, multiple, ack))
        assert 1 <= tag <= published, f"confirm for unknown tag {tag}"
        assert tag not in outcome, f"tag {tag} confirmed twice"
        if multiple:
            for t in range(1, tag + 1):
                outcome.setdefault(t, ack)
        else:
            outcome[tag] = ack
    return frames, outcome


def test_pipelined_publishes_are_confirmed_with_multiple(server, raw_client):
    c = raw_client(server)
    c.handshake()
    c.open_channel(1)
    declare(c, 1, "coalesced")
    confirm_select(c, 1)
    n = 200
    c.send(b"".join(publish_frames(1, "coalesced", b"m%d" % i) for i in range(n)))
    frames, outcome = read_confirms(c, n)
    assert sorted(outcome) == list(range(1, n + 1))
    assert all(outcome.values())
    # 200 publishes arrive in a few socket reads: far fewer frames than tags.
    assert any(m for _t, m, _a in frames), frames
    assert len(frames) < n / 4, frames


def test_persistent_and_transient_mixed_each_confirmed_once(server, raw_client):
    c = raw_client(server)
    c.handshake()
    c.open_channel(1)
    declare(c, 1, "durable-confirms", durable=True)
    declare(c, 1, "transient-confirms")
    confirm_select(c, 1)
    n = 300
    data = b""
    for i in range(n):
        if i % 3 == 2:
            data += publish_frames(1, "transient-confirms", b"t")
        else:
            data += publish_frames(1, "durable-confirms", b"p%d" % i, persistent=True)
    c.send(data)
    frames, outcome = read_confirms(c, n)
    assert sorted(outcome) == list(range(1, n + 1))
    assert all(outcome.values())
    # (Persistent ones decided by one WAL drain become one multiple=true
    # frame only once durable_engine has at_drain_end: not asserted.)
    conn = server.connect()
    ch = conn.channel()
    assert ch.queue_declare("durable-confirms", durable=True).method.message_count == 200
    conn.close()


def test_nack_splits_the_runs(server, raw_client):
    c = raw_client(server)
    c.handshake()
    c.open_channel(1)
    args = table({"x-max-length": 3, "x-overflow": "reject-publish"})
    c.send(method_frame(1, 50, 10, struct.pack(">H", 0) + shortstr("small") + b"\x00" + args))
    c.expect_method(50, 11)
    confirm_select(c, 1)
    n = 10
    c.send(b"".join(publish_frames(1, "small", b"x") for i in range(n)))
    frames, outcome = read_confirms(c, n)
    assert [outcome[t] for t in range(1, n + 1)] == [True] * 3 + [False] * 7
    # An ack frame never follows a nack covering a lower tag with multiple.
    confirmed = set()
    for tag, multiple, _ack in frames:
        covered = range(1, tag + 1) if multiple else [tag]
        new = [t for t in covered if t not in confirmed]
        assert new, f"frame {tag} confirms nothing new"
        confirmed.update(new)


def test_tx_commit_ok_means_on_disk(server):
    conn = server.connect()
    ch = conn.channel()
    ch.queue_declare("tx-durable", durable=True)
    ch.tx_select()
    for i in range(20):
        ch.basic_publish("", "tx-durable", b"c%d" % i,
                         pika.BasicProperties(delivery_mode=2))
    ch.tx_commit()
    # commit-ok came back: the messages must survive a kill -9.
    server.kill9()
    server.restart()
    conn = server.connect()
    ch = conn.channel()
    assert ch.queue_declare("tx-durable", durable=True).method.message_count == 20
    method, _props, body = ch.basic_get("tx-durable", auto_ack=True)
    assert body == b"c0"
    conn.close()


def test_tx_commit_with_rejected_publish_is_406(server):
    conn = server.connect()
    ch = conn.channel()
    ch.queue_declare("tx-small", arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    ch.tx_select()
    ch.basic_publish("", "tx-small", b"1")
    ch.basic_publish("", "tx-small", b"2")
    try:
        ch.tx_commit()
        raise AssertionError("commit of a partially rejected tx succeeded")
    except pika.exceptions.ChannelClosedByBroker as e:
        assert e.reply_code == 406
        assert "partial tx completion" in e.reply_text
    conn.close()
