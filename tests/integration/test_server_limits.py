"""Limits: connections, channels, frame size, message size."""

import struct
import time

import pika
import pytest

from conftest import FRAME_BODY, RawAmqp, frame, method_frame, shortstr


def read_until_close(c):
    code, text, _, _ = c.expect_connection_close()
    c.expect_eof()
    return code, text


def test_connection_limit_refuses_with_530(start_server, raw_client):
    s = start_server(args=["--max-connections", "2"])
    first, second = raw_client(s), raw_client(s)
    first.handshake()
    second.handshake()
    third = raw_client(s)
    try:
        third.handshake()
    except AssertionError:
        pass  # the close may come instead of open-ok
    code, text = read_until_close(third)
    assert code == 530 and "connection limit (2)" in text, text
    s.wait_for_log(r"refused: node connection limit \(2\) reached")
    # The first two still work; once one goes, a new one is let in.
    first.open_channel(1)
    first.close()
    second.open_channel(1)
    for _ in range(50):
        fourth = RawAmqp(s)
        try:
            fourth.handshake()
            fourth.open_channel(1)
            break
        except AssertionError:
            # The server may not have noticed the first one's hang-up yet.
            fourth.close()
    else:
        pytest.fail("no connection accepted after one closed")
    fourth.close()


def test_pika_over_connection_limit(start_server):
    s = start_server(args=["--max-connections", "1"])
    keep = s.connect()
    try:
        with pytest.raises(pika.exceptions.AMQPConnectionError):
            conn = s.connect()
            conn.channel()
            conn.process_data_events(time_limit=1)
    finally:
        keep.close()


def test_channel_max_is_offered_and_enforced(start_server, raw_client):
    s = start_server(args=["--channel-max", "3"])
    c = raw_client(s)
    c.handshake()
    assert c.channel_max == 3
    for ch in (1, 2, 3):
        c.open_channel(ch)
    c.send(method_frame(4, 20, 10, shortstr("")))
    code, text = read_until_close(c)
    assert code == 530 and "channel_max" in text, text


def test_frame_max_is_offered_and_enforced(start_server, raw_client):
    s = start_server(args=["--frame-max", "4096"])
    c = raw_client(s)
    c.handshake()
    assert c.frame_max == 4096
    c.open_channel(1)
    c.send(frame(FRAME_BODY, 1, b"x" * 5000))
    code, _ = read_until_close(c)
    assert code == 501


def test_message_size_limit_with_pika(start_server):
    s = start_server('max-message-size = "2KiB"\n')
    conn = s.connect()
    try:
        ch = conn.channel()
        reasons = []
        ch._impl.add_on_close_callback(lambda _ch, reason: reasons.append(reason))
        ch.basic_publish(exchange="", routing_key="nowhere", body=b"x" * 1000)
        ch.basic_publish(exchange="", routing_key="nowhere", body=b"x" * 5000)
        deadline = time.monotonic() + 5
        while not reasons and time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.1)
        assert reasons, "the channel was closed"
        assert reasons[0].reply_code == 406
        assert "larger than configured max size 2048" in reasons[0].reply_text
        assert conn.is_open
        conn.channel().close()
    finally:
        conn.close()
