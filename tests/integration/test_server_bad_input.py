"""Bad input on a raw socket: each case closes that connection (or channel)
with RabbitMQ's reply code and a reply text saying what was wrong, is logged,
and leaves the server serving other clients."""

import socket
import struct
import time

import pytest

from conftest import (FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, PROTOCOL_HEADER,
                      Closed, RawAmqp, body_frame, frame, header_frame, longstr, method_frame,
                      shortstr, table)


def queue_declare_args(name="q", arguments=None, raw_table=None):
    # ticket, queue, bits (passive durable exclusive auto-delete nowait), arguments
    return (struct.pack(">H", 0) + shortstr(name) + b"\x00"
            + (raw_table if raw_table is not None else table(arguments)))


def basic_publish_args(exchange="", routing_key="q"):
    return struct.pack(">H", 0) + shortstr(exchange) + shortstr(routing_key) + b"\x00"


def assert_still_serving(server):
    """Another client completes a handshake and opens a channel."""
    other = RawAmqp(server)
    try:
        other.handshake()
        other.open_channel(1)
    finally:
        other.close()


def open_client(raw_client, server, channel=1):
    c = raw_client(server)
    c.handshake()
    if channel:
        c.open_channel(channel)
    return c


def test_wrong_protocol_header_gets_ours_back(server, raw_client):
    c = raw_client(server)
    c.send(b"AMQP\x00\x00\x08\x00")
    assert c.recv_exact(8) == PROTOCOL_HEADER
    c.expect_eof()
    server.wait_for_log(r"bad protocol header")
    assert_still_serving(server)


def test_http_request_gets_protocol_header(server, raw_client):
    c = raw_client(server)
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.recv_exact(8) == PROTOCOL_HEADER
    c.expect_eof()


def test_half_a_frame_then_hangup(server, raw_client):
    c = open_client(raw_client, server)
    c.send(method_frame(1, 50, 10, queue_declare_args())[:9])
    c.close()
    server.wait_for_log(r"connection closed: .* user 'guest' vhost '/' .*unexpectedly closed")
    assert_still_serving(server)


@pytest.mark.parametrize("case,code,text", [
    ("wrong_frame_end", 501, ""),
    ("oversized_frame", 501, ""),
    ("truncated_arguments", 501, "truncated"),
    ("unknown_method", 540, "unknown method"),
    ("unknown_class", 540, "unknown method"),
    ("body_longer_than_header", 501, "longer than"),
    ("header_where_method_expected", 505, "expected a method frame"),
    ("body_where_method_expected", 505, "expected a method frame"),
    ("method_on_closed_channel", 504, "channel.open"),
    ("method_where_body_expected", 505, "expected content"),
    ("second_connection_open", 503, "second 'connection.open'"),
    ("table_runs_past_frame", 501, "field table"),
    ("table_unknown_type", 502, "unknown field type"),
    ("channel_above_channel_max", 530, "channel_max"),
    ("heartbeat_on_channel", 501, "heartbeat"),
    ("content_on_channel_zero", 505, "channel 0"),
])
def test_bad_frames_close_with_reply_code(server, raw_client, case, code, text):
    c = open_client(raw_client, server)
    if case == "wrong_frame_end":
        c.send(frame(FRAME_METHOD, 1, struct.pack(">HH", 50, 10) + queue_declare_args(),
                     end=0x00))
    elif case == "oversized_frame":
        payload = b"\x00" * (c.frame_max + 100)
        c.send(frame(FRAME_BODY, 1, payload))
    elif case == "truncated_arguments":
        c.send(method_frame(1, 50, 10, struct.pack(">H", 0) + b"\x05ab"))
    elif case == "unknown_method":
        c.send(method_frame(1, 50, 99, b""))
    elif case == "unknown_class":
        c.send(method_frame(1, 77, 10, b""))
    elif case == "body_longer_than_header":
        c.send(method_frame(1, 60, 40, basic_publish_args()) + header_frame(1, 5)
               + body_frame(1, b"0123456789"))
    elif case == "header_where_method_expected":
        c.send(header_frame(1, 5))
    elif case == "body_where_method_expected":
        c.send(body_frame(1, b"hello"))
    elif case == "method_on_closed_channel":
        c.send(method_frame(5, 50, 10, queue_declare_args()))
    elif case == "method_where_body_expected":
        c.send(method_frame(1, 60, 40, basic_publish_args()) + header_frame(1, 5)
               + method_frame(1, 50, 10, queue_declare_args()))
    elif case == "second_connection_open":
        c.send(method_frame(0, 10, 40, shortstr("/") + shortstr("") + b"\x00"))
    elif case == "table_runs_past_frame":
        c.send(method_frame(1, 50, 10, queue_declare_args(raw_table=struct.pack(">I", 1000)
                                                           + b"\x03abc")))
    elif case == "table_unknown_type":
        c.send(method_frame(1, 50, 10, queue_declare_args(
            raw_table=longstr(shortstr("x-bad") + b"Z" + b"\x00\x00"))))
    elif case == "channel_above_channel_max":
        c.send(method_frame(c.channel_max + 1, 20, 10, shortstr("")))
    elif case == "heartbeat_on_channel":
        c.send(frame(FRAME_HEARTBEAT, 1, b""))
    elif case == "content_on_channel_zero":
        c.send(header_frame(0, 5))
    got_code, got_text, _, _ = c.expect_connection_close()
    assert got_code == code, (got_code, got_text)
    assert text in got_text, got_text
    c.expect_eof()
    # Logged once, with the code.
    server.wait_for_log(rf"connection closed: .* user 'guest' vhost '/' .*: {code} ")
    assert_still_serving(server)


def test_message_over_max_size_closes_channel_only(start_server, raw_client):
    s = start_server(args=["--max-message-size", "1024"])
    c = open_client(raw_client, s)
    c.send(method_frame(1, 60, 40, basic_publish_args()) + header_frame(1, 2048))
    code, text, cls, meth = c.expect_channel_close(1)
    assert code == 406 and "larger than configured max size 1024" in text, text
    assert (cls, meth) == (60, 40)
    # The connection is still usable: the channel number can be reopened.
    c.open_channel(1)
    c.open_channel(2)


def test_garbage_bytes_do_not_disturb_others(server, raw_client):
    good = open_client(raw_client, server)
    for blob in (b"\xff" * 64, b"\x01\x00\x01\xff\xff\xff\xff" + b"x" * 32,
                 b"\x08\x00\x00\x00\x00\x00\x05hello\xce"):
        bad = open_client(raw_client, server, channel=0)
        bad.send(blob)
        code, _, _, _ = bad.expect_connection_close()
        assert code in (501, 502, 505), code
    # The good connection still answers.
    good.open_channel(2)
    assert_still_serving(server)


def test_handshake_bad_password(server, raw_client):
    c = raw_client(server)
    with pytest.raises((AssertionError, Closed)):
        c.handshake(password="wrong")
    server.wait_for_log(r"connection closed before open: .*403")
    assert_still_serving(server)


def test_connection_close_by_client_is_logged(server, raw_client):
    c = open_client(raw_client, server)
    c.send(method_frame(0, 10, 50, struct.pack(">H", 200) + shortstr("bye") + struct.pack(">HH", 0, 0)))
    c.expect_method(10, 51)
    c.expect_eof()
    m = server.wait_for_log(r"connection closed: (127\.0\.0\.1:\d+) -> 127\.0\.0\.1:\d+ "
                            r"user 'guest' vhost '/' after \d+ ms: 200 .*")
    assert m.group(1)
    assert "connection opened: " + m.group(1) in server.log_text()
