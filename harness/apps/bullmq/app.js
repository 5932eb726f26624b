// A BullMQ producer and worker, as an application under test for rift:
// the producer adds --jobs jobs to a queue, the worker processes them, and
// the program exits 0 once every job has completed, 1 when one failed or
// the time ran out (the first Redis error is printed).
//
//   node app.js [--jobs 200] [--rate 0] [--prefix bull] [--queue emails]
//               [--timeout 60] [--role both|producer|worker]
//
// --rate N adds N jobs a second (0: as fast as it can), so that the jobs
// span a fault or a failover.
//
// It finds the server in rift's environment: RIFT_SEEDS (host:port,...)
// and RIFT_CLUSTER (1: a cluster, ioredis Cluster; 0: one server). BullMQ's
// default prefix "bull" spreads a queue's keys over many slots, which a
// cluster refuses in BullMQ's multi-key scripts (CROSSSLOT); "{bull}" puts
// them all in one slot.
'use strict';
const { Queue, Worker, QueueEvents } = require('bullmq');
const IORedis = require('ioredis');

const opt = { jobs: 200, rate: 0, prefix: 'bull', queue: 'emails', timeout: 60, role: 'both' };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, ''), v = process.argv[i + 1];
  if (!(k in opt) || v === undefined) {
    process.stderr.write(`app.js: unknown option ${process.argv[i]}\n`);
    process.exit(2);
  }
  opt[k] = typeof opt[k] === 'number' ? Number(v) : v;
}
const seeds = (process.env.RIFT_SEEDS || '127.0.0.1:6379').split(',').map((s) => {
  const [host, port] = s.split(':');
  return { host, port: Number(port) };
});
const cluster = process.env.RIFT_CLUSTER === '1';
// the run's password (every server rift starts has one)
const auth = process.env.RIFT_PASSWORD ? { password: process.env.RIFT_PASSWORD } : {};

// BullMQ needs maxRetriesPerRequest: null on its blocking connections.
function connect() {
  if (cluster)
    return new IORedis.Cluster(seeds, { redisOptions: { maxRetriesPerRequest: null, ...auth } });
  return new IORedis({ ...seeds[0], maxRetriesPerRequest: null, ...auth });
}

// A refused script does not get better by retrying: the first CROSSSLOT
// ends the run (the worker would otherwise retry it in a tight loop).
let firstError = null, refused;
const refusedOnce = new Promise((resolve) => { refused = resolve; });
function note(where, err) {
  const msg = `${where}: ${err && err.message ? err.message : err}`;
  if (!firstError) {
    firstError = msg;
    process.stderr.write(`app.js: ${firstError}\n`);
  }
  if (/CROSSSLOT/.test(msg)) refused('refused');
}

async function main() {
  const conns = [];
  const conn = () => { const c = connect(); c.on('error', (e) => note('redis', e)); conns.push(c); return c; };
  const t0 = Date.now();
  let done = 0, failed = 0;
  const queue = new Queue(opt.queue, { connection: conn(), prefix: opt.prefix });
  queue.on('error', (e) => note('queue', e));
  let worker = null;
  const finished = new Promise((resolve) => {
    if (opt.role === 'producer') return resolve();
    worker = new Worker(opt.queue, async (job) => job.data.n * 2,
      { connection: conn(), prefix: opt.prefix, concurrency: 8 });
    worker.on('completed', () => { if (++done + failed >= opt.jobs) resolve(); });
    worker.on('failed', (job, e) => { failed++; note(`job ${job && job.id}`, e); if (done + failed >= opt.jobs) resolve(); });
    worker.on('error', (e) => note('worker', e));
  });
  if (opt.role !== 'worker') {
    let added = 0;
    for (let n = 0; n < opt.jobs && !firstError; n++) {
      if (opt.rate > 0) {
        const due = t0 + (n * 1000) / opt.rate - Date.now();
        if (due > 0) await new Promise((r) => setTimeout(r, due));
      }
      try {
        await queue.add('send', { n }, { removeOnComplete: true });
        added++;
      } catch (e) {
        note('add', e);
        break;
      }
    }
    console.log(`produced ${added} of ${opt.jobs} jobs with prefix ${opt.prefix} in ${Date.now() - t0} ms`);
  }
  const timeout = new Promise((resolve) => setTimeout(resolve, opt.timeout * 1000, 'timeout'));
  const how = await Promise.race([finished, timeout, refusedOnce]);
  console.log(`worker: ${done} completed, ${failed} failed in ${Date.now() - t0} ms` +
    (how === 'timeout' ? ` (gave up after ${opt.timeout} s)` :
      how === 'refused' ? ' (stopped at the first CROSSSLOT)' : ''));
  const ok = opt.role === 'producer' ? !firstError : done === opt.jobs && !failed;
  await Promise.race([
    Promise.allSettled([worker && worker.close(), queue.close()]),
    new Promise((r) => setTimeout(r, 3000)),
  ]);
  for (const c of conns) c.disconnect();
  if (!ok && firstError) console.log(`first error: ${firstError}`);
  process.exit(ok ? 0 : 1);
}

main().catch((e) => { note('main', e); process.exit(1); });
