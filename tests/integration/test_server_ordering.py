"""Every frame before a close is carried out: methods that arrive in the same
read as the peer's channel.close or connection.close are handled first
(regression: such publishes were dropped because the machine, having read the
whole batch, already reported the channel closed)."""

import struct
import time

from conftest import body_frame, header_frame, method_frame, shortstr, table

PUBLISHES = 200


def declare(c, name):
    c.send(method_frame(1, 50, 10, struct.pack(">H", 0) + shortstr(name) + b"\x00" + table()))
    c.expect_method(50, 11)


def publish(channel, queue, body=b"m"):
    return (method_frame(channel, 60, 40, struct.pack(">H", 0) + shortstr("") + shortstr(queue)
                         + b"\x00")
            + header_frame(channel, len(body)) + body_frame(channel, body))


def close_args():
    return struct.pack(">H", 200) + shortstr("bye") + struct.pack(">HH", 0, 0)


def count(server, queue):
    conn = server.connect()
    try:
        return conn.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        conn.close()


def test_publishes_then_channel_close_in_one_write(server, raw_client):
    c = raw_client(server)
    c.handshake()
    c.open_channel(1)
    declare(c, "order-ch")
    c.open_channel(2)
    c.send(b"".join(publish(2, "order-ch") for _ in range(PUBLISHES))
           + method_frame(2, 20, 40, close_args()))
    c.expect_method(20, 41)
    assert count(server, "order-ch") == PUBLISHES


def test_publishes_then_connection_close_in_one_write(server, raw_client):
    c = raw_client(server)
    c.handshake()
    c.open_channel(1)
    declare(c, "order-conn")
    c.send(b"".join(publish(1, "order-conn") for _ in range(PUBLISHES))
           + method_frame(0, 10, 50, close_args()))
    c.expect_method(10, 51)
    c.expect_eof()
    deadline = time.monotonic() + 5
    while count(server, "order-conn") != PUBLISHES:
        assert time.monotonic() < deadline, count(server, "order-conn")
        time.sleep(0.05)


def test_pika_publish_without_confirms_then_close(server):
    conn = server.connect()
    ch = conn.channel()
    ch.queue_declare("order-pika")
    for i in range(PUBLISHES):
        ch.basic_publish("", "order-pika", b"%d" % i)
    conn.close()
    assert count(server, "order-pika") == PUBLISHES
