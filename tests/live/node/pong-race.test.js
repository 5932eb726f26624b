// The pong race (redis/redis#13018) from a node:test suite, run by
//   rift run tests/live/pong-race.ini -- node --test tests/live/node/pong-race.test.js
// The test passes when rift's cycles check fails with its observer and
// time; the run then exits 1 (cycles are forbidden), the app check passes.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');

const rift = require(path.resolve(__dirname, '../../../clients/node/rift'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('the pong race fails the cycles check', async () => {
  const cluster = await rift.connect();
  try {
    assert.ok((await cluster.fault('a-to-c', true)).ok);
    assert.ok((await cluster.failover('m1r1')).ok);
    let cycles;
    for (const end = Date.now() + 10000; Date.now() < end; await sleep(250)) {
      cycles = await cluster.check('cycles');
      if (cycles.observations.length) break;
    }
    assert.equal(cycles.status, 'fail');
    const first = cycles.observations[0];
    assert.ok(cluster.info.nodes.some((n) => n.name === first.observer), first.observer);
    assert.ok(first.first_ms > 0 && first.what.includes('m1r1'), JSON.stringify(first));
    assert.ok((await cluster.fault('a-to-c', false)).ok);
    await cluster.waitConverged('20s');
  } finally {
    cluster.close();
  }
});
