"""Smoke tests through the whole server: real clients publish and consume
(pika, amqp-tools, Node's amqplib). Broker features are covered in depth by
test_broker_*.py; these check the wiring end to end."""

import shutil
import subprocess

import pika
import pytest

TOOL_TIMEOUT_S = 15


def test_pika_publish_consume(server):
    conn = server.connect()
    try:
        ch = conn.channel()
        ch.queue_declare("smoke")
        ch.confirm_delivery()
        for i in range(100):
            ch.basic_publish(exchange="", routing_key="smoke", body=f"m{i}".encode())
        got = []
        for method, _props, body in ch.consume("smoke", inactivity_timeout=2):
            if method is None:
                break
            got.append(body.decode())
            ch.basic_ack(method.delivery_tag)
            if len(got) == 100:
                break
        ch.cancel()
        assert got == [f"m{i}" for i in range(100)]
    finally:
        conn.close()
    server.wait_for_log(r"connection closed: .* user 'guest' vhost '/' .*: 200 ")


def test_two_connections_deliver_across(server):
    consumer = server.connect()
    publisher = server.connect()
    try:
        cch = consumer.channel()
        cch.queue_declare("across")
        pch = publisher.channel()
        body = b"x" * 300_000  # several frames at the default frame_max
        pch.basic_publish(exchange="", routing_key="across", body=body)
        method, _props, got = next(cch.consume("across", inactivity_timeout=5))
        assert method is not None and got == body
        cch.basic_ack(method.delivery_tag)
        cch.cancel()
    finally:
        publisher.close()
        consumer.close()


def test_pika_select_connection(server):
    got = []

    def on_open(conn):
        conn.channel(on_open_callback=on_channel)

    def on_channel(ch):
        ch.queue_declare("sel", callback=lambda _: publish(ch))

    def publish(ch):
        ch.basic_publish("", "sel", b"via select")
        ch.basic_consume("sel", on_message, auto_ack=True)

    def on_message(ch, method, props, body):
        got.append(body)
        ch.connection.close()

    conn = pika.SelectConnection(server.params(), on_open_callback=on_open)
    conn.ioloop.call_later(10, conn.ioloop.stop)
    conn.add_on_close_callback(lambda *_: conn.ioloop.stop())
    conn.ioloop.start()
    assert got == [b"via select"]


@pytest.mark.skipif(shutil.which("amqp-publish") is None, reason="amqp-tools missing")
def test_amqp_tools(server):
    conn = server.connect()
    try:
        conn.channel().queue_declare("tools")
    finally:
        conn.close()
    subprocess.run(["amqp-publish", "-u", server.url, "-r", "tools", "-b", "from amqp-tools"],
                   check=True, timeout=TOOL_TIMEOUT_S)
    out = subprocess.run(["amqp-get", "-u", server.url, "-q", "tools"], check=True,
                         capture_output=True, timeout=TOOL_TIMEOUT_S)
    assert out.stdout.strip() == b"from amqp-tools"


def test_node_amqplib(server, node_run):
    r = node_run("""
const amqp = require('amqplib');
(async () => {
  const conn = await amqp.connect(process.env.QMQ_URL);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('node-smoke');
  ch.sendToQueue('node-smoke', Buffer.from('hello from node'));
  await ch.waitForConfirms();
  const msg = await new Promise((resolve) => ch.consume('node-smoke', resolve));
  ch.ack(msg);
  console.log(msg.content.toString());
  await ch.close();
  await conn.close();
})().catch((e) => { console.error(e); process.exit(1); });
""")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "hello from node"
