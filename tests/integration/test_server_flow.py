"""Flow control on output: a client that publishes but never reads its own
deliveries is stopped by TCP back-pressure instead of making the server
buffer without bound."""

import socket
import struct
import time

from conftest import body_frame, header_frame, method_frame, shortstr, table

CHUNK = 64 * 1024
SEND_CAP = 256 << 20   # far more than every socket buffer on the path together
STALL_S = 2.0


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def test_non_reading_consumer_stalls_its_own_publishing(server, raw_client):
    c = raw_client(server)
    c.handshake()
    c.open_channel(1)
    c.send(method_frame(1, 50, 10, struct.pack(">H", 0) + shortstr("bp") + b"\x00" + table()))
    c.expect_method(50, 11)
    # basic.consume with no-ack: every publish comes straight back to us.
    c.send(method_frame(1, 60, 20, struct.pack(">H", 0) + shortstr("bp") + shortstr("")
                        + b"\x02" + table()))
    c.expect_method(60, 21)
    body = b"z" * CHUNK
    publish = (method_frame(1, 60, 40, struct.pack(">H", 0) + shortstr("") + shortstr("bp")
                            + b"\x00")
               + header_frame(1, len(body)) + body_frame(1, body))
    c.sock.setblocking(False)
    sent = 0
    pending = b""
    last_progress = time.monotonic()
    while sent < SEND_CAP and time.monotonic() - last_progress < STALL_S:
        if not pending:
            pending = publish
        try:
            n = c.sock.send(pending)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        pending = pending[n:]
        sent += n
        last_progress = time.monotonic()
    assert sent < SEND_CAP, "the server kept reading a client that does not read"
    # The server holds about one backlog's worth, not everything sent.
    assert rss_bytes(server.proc.pid) < 128 << 20
    # Other clients are served meanwhile.
    other = server.connect()
    other.channel().queue_declare("other")
    other.close()
    c.sock.setblocking(True)
    print(f"client stalled after {sent >> 20} MiB sent")
