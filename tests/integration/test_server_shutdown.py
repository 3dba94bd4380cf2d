"""SIGTERM/SIGINT: open connections get connection.close 320
CONNECTION_FORCED, then the server exits 0."""

import signal

import pika
import pytest


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_closes_connections_with_320_and_exits_zero(start_server, raw_client, sig):
    s = start_server()
    clients = [raw_client(s) for _ in range(3)]
    for c in clients:
        c.handshake()
        c.open_channel(1)
    s.proc.send_signal(sig)
    for c in clients:
        code, text, _, _ = c.expect_connection_close()
        assert code == 320
        assert text.startswith("CONNECTION_FORCED - "), text
        c.expect_eof()
    assert s.wait() == 0
    log = s.log_text()
    assert "shutting down on " + ("SIGTERM" if sig == signal.SIGTERM else "SIGINT") in log
    assert "shutdown complete" in log
    assert log.count("connection closed: ") == 3


def test_pika_sees_connection_forced(server):
    conn = server.connect()
    conn.channel()
    server.proc.send_signal(signal.SIGTERM)
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as info:
        while True:
            conn.process_data_events(time_limit=1)
    assert info.value.reply_code == 320
    assert server.wait() == 0


def test_client_that_never_answers_close_does_not_block_exit(start_server, raw_client):
    s = start_server()
    c = raw_client(s)
    c.handshake()
    s.proc.send_signal(signal.SIGTERM)
    # Read the close but never send close-ok: the server gives up after its
    # close timeout and still exits 0.
    _, c_, m, _ = c.recv_method()
    assert (c_, m) == (10, 50)
    # An impatient second SIGTERM does not turn the clean exit into a kill.
    s.proc.send_signal(signal.SIGTERM)
    assert s.wait(timeout=15) == 0
    assert "did not answer close" in s.log_text() or "shutdown complete" in s.log_text()


def test_idle_server_exits_zero_fast(server):
    assert server.stop(timeout=5) == 0


def test_half_open_handshake_dropped_on_shutdown(start_server, raw_client):
    s = start_server()
    c = raw_client(s)
    c.send(b"AMQP")  # half a protocol header
    assert s.stop(timeout=5) == 0
    c.expect_eof()


def test_restart_after_kill9_same_port_and_data_dir(start_server, raw_client):
    # The data dir lock dies with the process, and the port is reusable at
    # once (SO_REUSEADDR), so a supervisor can restart right away.
    s = start_server()
    c = raw_client(s)
    c.handshake()
    port = s.port
    s.kill9()
    c.expect_eof()
    s.restart()
    assert s.port == port
    again = raw_client(s)
    again.handshake()
    again.open_channel(1)
