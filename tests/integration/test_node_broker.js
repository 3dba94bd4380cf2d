// Broker features through Node's amqplib (run by test_broker_node.py with
// QMQ_URL set). Each case prints "ok <name>"; any failure exits non-zero.
const amqp = require('amqplib');
const assert = require('assert');

const WAIT_MS = 5000;

function nextMessage(ch, queue, opts = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout on ${queue}`)), WAIT_MS);
    let tag;
    ch.consume(queue, (msg) => {
      clearTimeout(timer);
      ch.cancel(tag).catch(() => {});
      resolve(msg);
    }, opts).then((ok) => { tag = ok.consumerTag; });
  });
}

async function collect(ch, queue, n) {
  const got = [];
  const deadline = Date.now() + WAIT_MS;
  while (got.length < n && Date.now() < deadline) {
    const m = await ch.get(queue, { noAck: true });
    if (m) got.push(m); else await new Promise((r) => setTimeout(r, 20));
  }
  return got;
}

const cases = {
  async topics(conn) {
    const ch = await conn.createChannel();
    await ch.assertExchange('n_topic', 'topic', { durable: false });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, 'n_topic', 'quick.orange.*');
    await ch.bindQueue(q, 'n_topic', 'lazy.#');
    for (const k of ['quick.orange.rabbit', 'lazy.brown.fox', 'quick.brown.fox', 'lazy']) {
      ch.publish('n_topic', k, Buffer.from(k));
    }
    const got = (await collect(ch, q, 3)).map((m) => m.content.toString());
    assert.deepStrictEqual(got, ['quick.orange.rabbit', 'lazy.brown.fox', 'lazy']);
    await ch.close();
  },

  async confirms(conn) {
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('n_confirm', { durable: false });
    for (let i = 0; i < 200; i++) ch.sendToQueue('n_confirm', Buffer.from(String(i)));
    await ch.waitForConfirms();
    const { messageCount } = await ch.checkQueue('n_confirm');
    assert.strictEqual(messageCount, 200);
    await ch.close();
  },

  async rpc(conn) {
    const server = await conn.createChannel();
    await server.assertQueue('n_rpc', { durable: false });
    await server.consume('n_rpc', (msg) => {
      const n = parseInt(msg.content.toString(), 10);
      server.sendToQueue(msg.properties.replyTo, Buffer.from(String(n + 1)),
                         { correlationId: msg.properties.correlationId });
      server.ack(msg);
    });
    const client = await conn.createChannel();
    const { queue } = await client.assertQueue('', { exclusive: true });
    const answer = nextMessage(client, queue, { noAck: true });
    client.sendToQueue('n_rpc', Buffer.from('41'), { replyTo: queue, correlationId: 'c1' });
    const msg = await answer;
    assert.strictEqual(msg.content.toString(), '42');
    assert.strictEqual(msg.properties.correlationId, 'c1');
    await server.close();
    await client.close();
  },

  async deadLetterAndTtl(conn) {
    const ch = await conn.createChannel();
    await ch.assertQueue('n_dead', { durable: false });
    await ch.assertQueue('n_ttl', { durable: false, messageTtl: 100, deadLetterExchange: '',
                                    deadLetterRoutingKey: 'n_dead' });
    ch.sendToQueue('n_ttl', Buffer.from('late'));
    const msg = await nextMessage(ch, 'n_dead', { noAck: true });
    assert.strictEqual(msg.content.toString(), 'late');
    const death = msg.properties.headers['x-death'][0];
    assert.strictEqual(death.reason, 'expired');
    assert.strictEqual(death.queue, 'n_ttl');
    assert.strictEqual(death.count, 1);
    await ch.close();
  },

  async prefetchAndNack(conn) {
    const ch = await conn.createChannel();
    await ch.assertQueue('n_pf', { durable: false });
    for (let i = 0; i < 4; i++) ch.sendToQueue('n_pf', Buffer.from(String(i)));
    await ch.prefetch(2);
    const seen = [];
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('prefetch timeout')), WAIT_MS);
      ch.consume('n_pf', (msg) => {
        seen.push([msg.content.toString(), msg.fields.redelivered]);
        if (seen.length === 1) {
          ch.nack(msg, false, true);  // back to the head, redelivered
        } else {
          ch.ack(msg);
        }
        if (seen.length === 5) { clearTimeout(timer); resolve(); }
      });
    });
    assert.deepStrictEqual(seen[0], ['0', false]);
    assert.ok(seen.some(([b, r]) => b === '0' && r === true));
    await ch.close();
  },

  async errors(conn) {
    const ch = await conn.createChannel();
    let err = null;
    ch.on('error', (e) => { err = e; });
    await ch.checkQueue('n_missing').catch((e) => { err = e; });
    assert.ok(err && /404/.test(err.message), String(err));
    const ch2 = await conn.createChannel();
    ch2.on('error', () => {});
    await ch2.assertQueue('n_quorum', { arguments: { 'x-queue-type': 'quorum' } })
      .then(() => assert.fail('quorum accepted'))
      .catch((e) => assert.ok(/406/.test(e.message) && /not supported yet/.test(e.message),
                              e.message));
  },
};

(async () => {
  const only = process.argv[2];
  const conn = await amqp.connect(process.env.QMQ_URL);
  for (const [name, fn] of Object.entries(cases)) {
    if (only && name !== only) continue;
    await fn(conn);
    console.log(`ok ${name}`);
  }
  await conn.close();
})().catch((e) => { console.error(e); process.exit(1); });
