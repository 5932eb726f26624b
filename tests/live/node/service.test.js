// The service of tests/live/python/service.py in Node (ioredis), run by
//   rift run tests/live/hold-failover.ini -- node --test tests/live/node/service.test.js
// It asks rift for a failover under a hold fault, waits for convergence
// and checks its own data and what rift saw.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');

const ROOT = path.resolve(__dirname, '../../..');
const Redis = require(path.join(ROOT, 'harness/clients/node_modules/ioredis'));
const rift = require(path.join(ROOT, 'clients/node/rift'));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function retry(fn, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    try { return await fn(); } catch (e) {
      if (Date.now() > end) throw e;
      await sleep(200);
    }
  }
}

test('counter and profile survive a failover under a hold', async () => {
  const cluster = await rift.connect();
  assert.deepEqual(cluster.info.nodes.map((n) => n.name), ['m1', 'm2', 'm3', 'm1r1', 'm2r1', 'm3r1']);
  const seeds = process.env.RIFT_SEEDS.split(',').map((a) => ({ host: a.split(':')[0], port: +a.split(':')[1] }));
  const rc = new Redis.Cluster(seeds, { redisOptions: { password: process.env.RIFT_PASSWORD } });
  try {
    for (let i = 0; i < 200; i++) await retry(() => rc.incr('hits:home'));
    await retry(() => rc.mset('{user:7}:name', 'Lin', '{user:7}:email', 'lin@example.org'));
    assert.ok((await cluster.mark('node service: 200 hits written')).ok);
    assert.ok((await cluster.fault('hold-m3', true)).ok);
    const f = await cluster.failover('m1r1');
    assert.ok(f.ok, f.text);
    await sleep(1500);
    assert.ok((await cluster.fault('hold-m3', false)).ok);
    const w = await cluster.waitConverged('20s');
    assert.ok(w.ok, w.text);
    for (let i = 0; i < 100; i++) await retry(() => rc.incr('hits:home'));
    assert.equal(await retry(() => rc.get('hits:home')), '300');
    assert.deepEqual(await retry(() => rc.mget('{user:7}:name', '{user:7}:email')), ['Lin', 'lin@example.org']);
    const views = await cluster.views();
    const m1r1 = cluster.info.nodes.find((n) => n.name === 'm1r1').addr;
    assert.equal(views.m1.nodes.find((n) => n.addr === m1r1).role, 'primary');
    const checks = Object.fromEntries((await cluster.checks()).map((c) => [c.name, c]));
    assert.equal(checks.cycles.status, 'pass');
    assert.equal(checks.lost_slots.status, 'pass');
    assert.equal(checks.lost_writes.status, 'pending');
    await assert.rejects(cluster.request('failover m9'), rift.RiftError);
    await assert.rejects(cluster.down(), /down is rift up's/);
  } finally {
    rc.disconnect();
    cluster.close();
  }
});
