"""Heartbeats: the server sends them, and drops a silent peer after two
missed intervals (short intervals here)."""

import time

from conftest import FRAME_HEARTBEAT, Closed, frame


def test_silent_peer_dropped_after_two_intervals(server, raw_client):
    c = raw_client(server, timeout=10)
    c.handshake(heartbeat=1)
    c.open_channel(1)
    quiet_since = time.monotonic()
    heartbeats = 0
    while True:
        try:
            ftype, channel, _ = c.recv_frame(timeout=6)
        except Closed:
            break
        if ftype == FRAME_HEARTBEAT:
            assert channel == 0
            heartbeats += 1
    elapsed = time.monotonic() - quiet_since
    # Two missed 1 s intervals, checked every 100 ms; generous upper bound for
    # a loaded machine.
    assert 1.8 <= elapsed <= 4.0, elapsed
    assert heartbeats >= 1, "the server sends heartbeats while it waits"
    server.wait_for_log(r"connection closed: .* user 'guest' .*missed heartbeats")


def test_peer_sending_heartbeats_stays(server, raw_client):
    c = raw_client(server, timeout=10)
    c.handshake(heartbeat=1)
    start = time.monotonic()
    while time.monotonic() - start < 3.5:
        c.send(frame(FRAME_HEARTBEAT, 0, b""))
        time.sleep(0.4)
    c.open_channel(1)  # still open and answering


def test_heartbeat_zero_disables(start_server, raw_client):
    s = start_server(args=["--heartbeat", "0"])
    c = raw_client(s, timeout=10)
    c.handshake(heartbeat=0)
    time.sleep(2.5)
    c.open_channel(1)


def test_pika_heartbeats_keep_connection(server):
    conn = server.connect(heartbeat=1)
    try:
        ch = conn.channel()
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.2)
        assert conn.is_open and ch.is_open
    finally:
        conn.close()
