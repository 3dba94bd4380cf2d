"""Publisher flow control (src/server/flow_control.h): a publisher that
outruns a queue's consumers is paused, so the backlog stays bounded, and
everything still arrives. Queues without consumers, and connections that
publish and consume, are never throttled."""

import threading
import time

import pika

HIGH = 200            # --flow-queue-ready-high for these tests
BODY = b"f" * 1000
COUNT = 4000
# A paused publisher can overshoot by what the reads already in flight carry
# (two read chunks of 128 KiB at most: ~250 messages of 1 KB).
OVERSHOOT = 600
TIMEOUT_S = 40


def declare(conn, name):
    ch = conn.channel()
    ch.queue_declare(name)
    return ch


def publish_all(server, queue, count, done):
    conn = server.connect()
    ch = conn.channel()
    t0 = time.monotonic()
    for i in range(count):
        ch.basic_publish("", queue, BODY, pika.BasicProperties(message_id=str(i)))
    done["elapsed"] = time.monotonic() - t0
    conn.close()


def sample_ready(server, queue, stop, out):
    conn = server.connect()
    ch = conn.channel()
    while not stop.is_set():
        out.append(ch.queue_declare(queue, passive=True).method.message_count)
        time.sleep(0.02)
    conn.close()


def run_slow_consumer(server, queue):
    """Publishes COUNT messages flat out on one connection while a slow
    consumer drains them; samples the queue's ready count meanwhile.
    Returns (largest ready count seen, ids received in order)."""
    cons = server.connect()
    cch = declare(cons, queue)
    cch.basic_qos(prefetch_count=20)
    got = []

    def on_msg(ch, method, props, body):
        got.append(int(props.message_id))
        time.sleep(0.0005)  # slower than the publisher
        ch.basic_ack(method.delivery_tag)

    cch.basic_consume(queue, on_msg)
    stop = threading.Event()
    samples = []
    mon = threading.Thread(target=sample_ready, args=(server, queue, stop, samples), daemon=True)
    mon.start()
    done = {}
    pub = threading.Thread(target=publish_all, args=(server, queue, COUNT, done), daemon=True)
    pub.start()
    deadline = time.monotonic() + TIMEOUT_S
    while len(got) < COUNT and time.monotonic() < deadline:
        cons.process_data_events(time_limit=0.05)
    stop.set()
    pub.join(timeout=5)
    mon.join(timeout=5)
    assert not pub.is_alive()
    cons.close()
    assert len(samples) >= 10
    return max(samples), got


def test_fast_publisher_is_paused_and_backlog_stays_bounded(start_server):
    server = start_server(args=["--flow-queue-ready-high", str(HIGH)])
    peak, got = run_slow_consumer(server, "flow-slow")
    assert got == list(range(COUNT)), f"{len(got)} of {COUNT} delivered, or out of order"
    assert peak <= HIGH + OVERSHOOT, f"backlog reached {peak} ready messages"
    assert "publisher paused by flow control" in server.log_text()


def test_without_flow_control_the_backlog_grows(start_server):
    # The control experiment: the same load with flow control off lets the
    # queue grow far past the bound above, so the test above can fail.
    server = start_server(args=["--flow-queue-ready-high", "0"])
    peak, got = run_slow_consumer(server, "flow-off")
    assert got == list(range(COUNT))
    assert peak > HIGH + OVERSHOOT * 2, f"backlog only reached {peak}"
    assert "publisher paused by flow control" not in server.log_text()


def test_queue_without_consumers_fills_at_full_speed(start_server):
    server = start_server(args=["--flow-queue-ready-high", str(HIGH)])
    conn = server.connect()
    ch = declare(conn, "flow-backlog")
    done = {}
    publish_all(server, "flow-backlog", COUNT, done)
    deadline = time.monotonic() + 10
    count = 0
    while time.monotonic() < deadline:
        count = ch.queue_declare("flow-backlog", passive=True).method.message_count
        if count == COUNT:
            break
        time.sleep(0.05)
    assert count == COUNT
    conn.close()


def test_connection_that_publishes_and_consumes_is_never_paused(start_server):
    # Its own acks must be read for the queue to drain: pausing it would
    # deadlock.
    server = start_server(args=["--flow-queue-ready-high", str(HIGH)])
    conn = server.connect()
    ch = declare(conn, "flow-self")
    ch.basic_qos(prefetch_count=10)
    got = []

    def on_msg(c, method, props, body):
        got.append(int(props.message_id))
        c.basic_ack(method.delivery_tag)

    ch.basic_consume("flow-self", on_msg)
    for i in range(COUNT):
        ch.basic_publish("", "flow-self", BODY, pika.BasicProperties(message_id=str(i)))
    deadline = time.monotonic() + TIMEOUT_S
    while len(got) < COUNT and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)
    assert got == list(range(COUNT))
    conn.close()


def test_stuck_consumer_does_not_starve_the_publisher(start_server):
    # A consumer that never acks: the queue has consumers but makes no
    # progress, so the publisher is released after the stall interval.
    server = start_server(args=["--flow-queue-ready-high", str(HIGH)])
    stuck = server.connect()
    sch = declare(stuck, "flow-stuck")
    sch.basic_qos(prefetch_count=1)
    sch.basic_consume("flow-stuck", lambda *a: None)
    stuck.process_data_events(time_limit=0.1)
    done = {}
    pub = threading.Thread(target=publish_all, args=(server, "flow-stuck", COUNT, done),
                           daemon=True)
    pub.start()
    deadline = time.monotonic() + 15
    while pub.is_alive() and time.monotonic() < deadline:
        stuck.process_data_events(time_limit=0.05)
    assert not pub.is_alive(), "publisher still paused behind a consumer that never acks"
    mon = server.connect()
    ready = declare(mon, "flow-stuck").queue_declare("flow-stuck", passive=True).method.message_count
    assert ready == COUNT - 1
    mon.close()
    stuck.close()
