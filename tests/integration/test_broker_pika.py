"""Broker features through a real quorummq-server with pika (blocking and
select connections): routing, work queues, RPC, confirms, dead-lettering,
TTL, limits, priorities, single active consumer, exclusive queues, qos and
the reply codes RabbitMQ gives. Every wait is bounded."""

import time
import uuid

import pika
import pika.exceptions
import pytest

WAIT_S = 5


def drain(ch, queue, n, auto_ack=True, timeout=WAIT_S):
    """Gets up to n messages with basic.get, waiting at most `timeout`."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        method, props, body = ch.basic_get(queue, auto_ack=auto_ack)
        if method is None:
            time.sleep(0.02)
            continue
        got.append((method, props, body))
    return got


def bodies(msgs):
    return [b.decode() for _m, _p, b in msgs]


@pytest.fixture
def conn(server):
    c = server.connect()
    yield c
    if c.is_open:
        c.close()


def test_publish_consume_in_order(conn):
    ch = conn.channel()
    ch.queue_declare("order")
    for i in range(500):
        ch.basic_publish("", "order", str(i).encode())
    got = []
    for method, _props, body in ch.consume("order", inactivity_timeout=WAIT_S):
        if method is None:
            break
        got.append(int(body))
        ch.basic_ack(method.delivery_tag)
        if len(got) == 500:
            break
    ch.cancel()
    assert got == list(range(500))


def test_work_queue_fair_dispatch(server):
    producer = server.connect()
    w1, w2 = server.connect(), server.connect()
    try:
        c1, c2 = w1.channel(), w2.channel()
        for c in (c1, c2):
            c.queue_declare("tasks", durable=False)
            c.basic_qos(prefetch_count=1)
        p = producer.channel()
        p.queue_declare("tasks")
        for i in range(10):
            p.basic_publish("", "tasks", f"t{i}".encode())
        seen = {1: [], 2: []}
        # Each worker takes one, acks, takes the next: both get work.
        for _ in range(5):
            for idx, c in ((1, c1), (2, c2)):
                m, _pr, b = next(c.consume("tasks", inactivity_timeout=WAIT_S))
                assert m is not None
                seen[idx].append(b.decode())
                c.basic_ack(m.delivery_tag)
        assert sorted(seen[1] + seen[2]) == sorted(f"t{i}" for i in range(10))
        assert seen[1] and seen[2]
    finally:
        for c in (producer, w1, w2):
            c.close()


def test_rpc_with_exclusive_reply_queue(server):
    srv_conn, cli_conn = server.connect(), server.connect()
    try:
        s = srv_conn.channel()
        s.queue_declare("rpc_queue")
        c = cli_conn.channel()
        reply_q = c.queue_declare("", exclusive=True).method.queue
        assert reply_q.startswith("amq.gen-")
        corr = str(uuid.uuid4())
        c.basic_publish("", "rpc_queue", b"21",
                        pika.BasicProperties(reply_to=reply_q, correlation_id=corr))
        m, props, body = next(s.consume("rpc_queue", inactivity_timeout=WAIT_S))
        s.basic_publish("", props.reply_to, str(int(body) * 2).encode(),
                        pika.BasicProperties(correlation_id=props.correlation_id))
        s.basic_ack(m.delivery_tag)
        m2, props2, answer = next(c.consume(reply_q, inactivity_timeout=WAIT_S))
        assert m2 is not None and answer == b"42" and props2.correlation_id == corr
        # Another connection may not touch the exclusive reply queue: 405.
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as e:
            s2 = srv_conn.channel()
            s2.queue_declare(reply_q, passive=True)
        assert e.value.reply_code == 405
    finally:
        srv_conn.close()
        cli_conn.close()
    # Gone with its connection.
    check = server.connect()
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as e:
            check.channel().queue_declare(reply_q, passive=True)
        assert e.value.reply_code == 404
    finally:
        check.close()


def test_topic_routing(conn):
    ch = conn.channel()
    ch.exchange_declare("logs_topic", "topic")
    for q, key in (("kern", "kern.*"), ("critical", "*.critical"), ("all", "#")):
        ch.queue_declare(q)
        ch.queue_bind(q, "logs_topic", key)
    for key in ("kern.critical", "kern.info", "app.critical", "app.info.extra", ""):
        ch.basic_publish("logs_topic", key, key.encode() or b"empty")
    assert bodies(drain(ch, "kern", 2)) == ["kern.critical", "kern.info"]
    assert bodies(drain(ch, "critical", 2)) == ["kern.critical", "app.critical"]
    assert len(drain(ch, "all", 5)) == 5


def test_headers_exchange(conn):
    ch = conn.channel()
    ch.exchange_declare("hdr", "headers")
    ch.queue_declare("h_all")
    ch.queue_declare("h_any")
    ch.queue_bind("h_all", "hdr", arguments={"x-match": "all", "a": 1, "b": "two"})
    ch.queue_bind("h_any", "hdr", arguments={"x-match": "any", "a": 1, "b": "two"})
    ch.basic_publish("hdr", "", b"both", pika.BasicProperties(headers={"a": 1, "b": "two"}))
    ch.basic_publish("hdr", "", b"one", pika.BasicProperties(headers={"a": 1}))
    ch.basic_publish("hdr", "", b"none", pika.BasicProperties(headers={"c": 3}))
    assert bodies(drain(ch, "h_all", 2, timeout=1)) == ["both"]
    assert bodies(drain(ch, "h_any", 3, timeout=1)) == ["both", "one"]


def test_fanout_and_exchange_to_exchange(conn):
    ch = conn.channel()
    ch.exchange_declare("src", "direct")
    ch.exchange_declare("fan", "fanout")
    ch.exchange_bind("fan", "src", "go")
    for q in ("f1", "f2"):
        ch.queue_declare(q)
        ch.queue_bind(q, "fan")
    ch.basic_publish("src", "go", b"through")
    ch.basic_publish("src", "stop", b"dropped")
    assert bodies(drain(ch, "f1", 2, timeout=1)) == ["through"]
    assert bodies(drain(ch, "f2", 2, timeout=1)) == ["through"]


def test_alternate_exchange(conn):
    ch = conn.channel()
    ch.exchange_declare("ae", "fanout")
    ch.queue_declare("unroutable")
    ch.queue_bind("unroutable", "ae")
    ch.exchange_declare("main", "direct", arguments={"alternate-exchange": "ae"})
    ch.basic_publish("main", "nobody", b"to ae")
    assert bodies(drain(ch, "unroutable", 1)) == ["to ae"]


def test_mandatory_unroutable_is_returned(conn):
    ch = conn.channel()
    ch.confirm_delivery()
    with pytest.raises(pika.exceptions.UnroutableError):
        ch.basic_publish("amq.direct", "nowhere", b"x", mandatory=True)


def test_publisher_confirms_ack_and_nack(conn):
    ch = conn.channel()
    ch.confirm_delivery()
    ch.queue_declare("capped", arguments={"x-max-length": 2, "x-overflow": "reject-publish"})
    ch.basic_publish("", "capped", b"1")
    ch.basic_publish("", "capped", b"2")
    with pytest.raises(pika.exceptions.NackError):
        ch.basic_publish("", "capped", b"3")
    assert bodies(drain(ch, "capped", 3, timeout=1)) == ["1", "2"]


def test_dead_letter_on_reject_with_x_death(conn):
    ch = conn.channel()
    ch.exchange_declare("dlx", "direct")
    ch.queue_declare("dead")
    ch.queue_bind("dead", "dlx", "dead-key")
    ch.queue_declare("work", arguments={"x-dead-letter-exchange": "dlx",
                                        "x-dead-letter-routing-key": "dead-key"})
    ch.basic_publish("", "work", b"bad")
    (m, _p, _b), = drain(ch, "work", 1, auto_ack=False)
    ch.basic_reject(m.delivery_tag, requeue=False)
    (dm, props, body), = drain(ch, "dead", 1)
    assert body == b"bad"
    assert dm.routing_key == "dead-key"
    death = props.headers["x-death"][0]
    assert death["reason"] == "rejected"
    assert death["queue"] == "work"
    assert death["count"] == 1
    assert death["exchange"] == ""
    assert death["routing-keys"] == ["work"]
    assert props.headers["x-first-death-reason"] == "rejected"


def test_ttl_expiry_dead_letters(conn):
    ch = conn.channel()
    ch.queue_declare("expired_msgs")
    ch.queue_declare("short_lived", arguments={"x-message-ttl": 200,
                                               "x-dead-letter-exchange": "",
                                               "x-dead-letter-routing-key": "expired_msgs"})
    ch.basic_publish("", "short_lived", b"tick")
    ch.basic_publish("", "short_lived", b"tock", pika.BasicProperties(expiration="100"))
    got = drain(ch, "expired_msgs", 2, timeout=WAIT_S)
    assert bodies(got) == ["tick", "tock"]
    assert got[0][1].headers["x-death"][0]["reason"] == "expired"
    assert got[1][1].headers["x-death"][0]["original-expiration"] == "100"
    assert ch.queue_declare("short_lived", passive=True).method.message_count == 0


def test_queue_expires_when_unused(server, conn):
    ch = conn.channel()
    ch.queue_declare("fleeting", arguments={"x-expires": 300})
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            conn.channel().queue_declare("fleeting", passive=True)
        except pika.exceptions.ChannelClosedByBroker as e:
            assert e.reply_code == 404
            return
        time.sleep(0.1)
    pytest.fail("x-expires queue still there")


def test_max_length_drop_head(conn):
    ch = conn.channel()
    ch.queue_declare("latest", arguments={"x-max-length": 3})
    for i in range(10):
        ch.basic_publish("", "latest", str(i).encode())
    assert bodies(drain(ch, "latest", 10, timeout=1)) == ["7", "8", "9"]


def test_priority_queue(conn):
    ch = conn.channel()
    ch.queue_declare("prio", arguments={"x-max-priority": 10})
    for p in (1, 9, 5, 9, 0):
        ch.basic_publish("", "prio", f"p{p}".encode(), pika.BasicProperties(priority=p))
    assert bodies(drain(ch, "prio", 5)) == ["p9", "p9", "p5", "p1", "p0"]


def test_single_active_consumer(server):
    a, b = server.connect(), server.connect()
    try:
        ca, cb = a.channel(), b.channel()
        ca.queue_declare("sac", arguments={"x-single-active-consumer": True})
        cb.queue_declare("sac", arguments={"x-single-active-consumer": True})
        got_a, got_b = [], []
        ca.basic_consume("sac", lambda c, m, p, body: got_a.append(body), auto_ack=True)
        cb.basic_consume("sac", lambda c, m, p, body: got_b.append(body), auto_ack=True)
        for i in range(5):
            ca.basic_publish("", "sac", str(i).encode())
        deadline = time.monotonic() + WAIT_S
        while len(got_a) + len(got_b) < 5 and time.monotonic() < deadline:
            a.process_data_events(0.05)
            b.process_data_events(0.05)
        assert len(got_a) == 5 and got_b == []
        a.close()  # hand over
        ca = None
        cb.basic_publish("", "sac", b"after")
        deadline = time.monotonic() + WAIT_S
        while not got_b and time.monotonic() < deadline:
            b.process_data_events(0.05)
        assert got_b == [b"after"]
    finally:
        for c in (a, b):
            if c.is_open:
                c.close()


def test_prefetch_limits_unacked(conn):
    ch = conn.channel()
    ch.queue_declare("pf")
    for i in range(10):
        ch.basic_publish("", "pf", str(i).encode())
    ch.basic_qos(prefetch_count=3)
    got = []
    ch.basic_consume("pf", lambda c, m, p, body: got.append(m.delivery_tag))
    conn.process_data_events(0.5)
    assert len(got) == 3
    ch.basic_ack(got[-1], multiple=True)
    conn.process_data_events(0.5)
    assert len(got) == 6


def test_nack_requeue_comes_back_redelivered_first(conn):
    ch = conn.channel()
    ch.queue_declare("rq")
    for b in (b"a", b"b"):
        ch.basic_publish("", "rq", b)
    (m, _p, body), = drain(ch, "rq", 1, auto_ack=False)
    assert body == b"a"
    ch.basic_nack(m.delivery_tag, requeue=True)
    (m2, _p, body2), = drain(ch, "rq", 1)
    assert body2 == b"a" and m2.redelivered


def test_unknown_delivery_tag_closes_channel_406(conn):
    ch = conn.channel()
    ch.basic_ack(12345)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as e:
        ch.queue_declare("after-bad-ack")
    assert e.value.reply_code == 406


def test_redeclare_with_other_args_406_and_quorum_refused(conn):
    ch = conn.channel()
    ch.queue_declare("args", arguments={"x-max-length": 5})
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as e:
        ch.queue_declare("args", arguments={"x-max-length": 6})
    assert e.value.reply_code == 406 and "x-max-length" in e.value.reply_text
    ch = conn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as e:
        ch.queue_declare("qq", durable=True, arguments={"x-queue-type": "quorum"})
    assert e.value.reply_code == 406 and "not supported yet" in e.value.reply_text
    ch = conn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as e:
        ch.queue_declare("badttl", arguments={"x-message-ttl": "soon"})
    assert e.value.reply_code == 406 and "x-message-ttl" in e.value.reply_text


def test_exchange_redeclare_and_reserved_names(conn):
    ch = conn.channel()
    ch.exchange_declare("ex1", "direct")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as e:
        ch.exchange_declare("ex1", "fanout")
    assert e.value.reply_code == 406
    ch = conn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as e:
        ch.exchange_declare("amq.custom", "direct")
    assert e.value.reply_code == 403
    ch = conn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as e:
        ch.basic_publish("no-such-exchange", "k", b"x")
        ch.queue_declare("sync-point")
    assert e.value.reply_code == 404


def test_tx_commit_and_rollback(conn):
    ch = conn.channel()
    ch.queue_declare("txq")
    ch.tx_select()
    ch.basic_publish("", "txq", b"rolled")
    ch.tx_rollback()
    ch.basic_publish("", "txq", b"kept")
    assert ch.queue_declare("txq", passive=True).method.message_count == 0
    ch.tx_commit()
    assert bodies(drain(ch, "txq", 2, timeout=1)) == ["kept"]


def test_delete_consumed_queue_cancels_consumer(server):
    a, b = server.connect(), server.connect()
    try:
        ca = a.channel()
        ca.queue_declare("doomed")
        cancelled = []
        ca.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
        tag = ca.basic_consume("doomed", lambda *args: None)
        assert b.channel().queue_delete("doomed").method.message_count == 0
        deadline = time.monotonic() + WAIT_S
        while not cancelled and time.monotonic() < deadline:
            a.process_data_events(0.05)
        assert cancelled == [tag]
    finally:
        a.close()
        b.close()


def test_purge_and_delete_counts(conn):
    ch = conn.channel()
    ch.queue_declare("counts")
    for i in range(7):
        ch.basic_publish("", "counts", b"x")
    assert ch.queue_declare("counts", passive=True).method.message_count == 7
    assert ch.queue_purge("counts").method.message_count == 7
    ch.basic_publish("", "counts", b"y")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as e:
        ch.queue_delete("counts", if_empty=True)
    assert e.value.reply_code == 406
    assert conn.channel().queue_delete("counts").method.message_count == 1


def test_select_connection_consumer(server):
    got = []

    def on_open(c):
        c.channel(on_open_callback=on_channel)

    def on_channel(ch):
        ch.queue_declare("sel_q", callback=lambda _f: declared(ch))

    def declared(ch):
        ch.basic_qos(prefetch_count=5)
        ch.basic_consume("sel_q", on_message)
        for i in range(20):
            ch.basic_publish("", "sel_q", str(i).encode())

    def on_message(ch, method, _props, body):
        got.append(int(body))
        ch.basic_ack(method.delivery_tag)
        if len(got) == 20:
            ch.connection.close()

    c = pika.SelectConnection(server.params(), on_open_callback=on_open)
    c.ioloop.call_later(10, c.ioloop.stop)
    c.add_on_close_callback(lambda *_: c.ioloop.stop())
    c.ioloop.start()
    assert got == list(range(20))


def test_global_qos_shared_by_two_consumers(conn):
    ch = conn.channel()
    for q in ("gq1", "gq2"):
        ch.queue_declare(q)
        for i in range(10):
            ch.basic_publish("", q, f"{q}-{i}".encode())
    ch.basic_qos(prefetch_count=3, global_qos=True)
    unacked = []
    got = []

    def on_message(_ch, method, _props, body):
        unacked.append(method.delivery_tag)
        got.append(body)

    ch.basic_consume("gq1", on_message)
    ch.basic_consume("gq2", on_message)
    conn.process_data_events(time_limit=0.5)
    assert len(unacked) == 3, got
    deadline = time.monotonic() + WAIT_S
    while len(got) < 20 and time.monotonic() < deadline:
        assert len(unacked) <= 3
        ch.basic_ack(unacked.pop(0))
        conn.process_data_events(time_limit=0.05)
    assert len(unacked) <= 3
    assert sorted(got) == sorted(f"{q}-{i}".encode() for q in ("gq1", "gq2") for i in range(10))


def test_cc_and_bcc_route_and_bcc_is_removed(conn):
    ch = conn.channel()
    for q in ("cc1", "cc2", "cc3", "cc4"):
        ch.queue_declare(q)
        ch.queue_bind(q, "amq.direct", q)
    props = pika.BasicProperties(headers={"CC": ["cc2"], "BCC": ["cc3"], "x": "y"})
    ch.basic_publish("amq.direct", "cc1", b"hello", props)
    for q in ("cc1", "cc2", "cc3"):
        msgs = drain(ch, q, 1)
        assert bodies(msgs) == ["hello"], q
        headers = msgs[0][1].headers
        assert "BCC" not in headers, q
        assert headers["CC"] == ["cc2"], q
        assert headers["x"] == "y", q
    assert ch.queue_declare("cc4", passive=True).method.message_count == 0
