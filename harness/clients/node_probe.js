// rift probe for Node.js cluster clients: ioredis, node-redis, iovalkey or
// valkey-glide (npm).
//   node node_probe.js --lib ioredis|node-redis|iovalkey|valkey-glide --seeds HOST:PORT[,...] --source IP
//                      --duration S [--interval-ms N] [--keys N] [--option KEY=VALUE ...]
// Same output as the other probes: a header line with the library, its
// version and its settings, then one JSON line per operation:
//   {"t_ms": CLOCK_MONOTONIC ms, "key", "slot", "op", "ok", "kind", "msg"}
'use strict';
const net = require('net');

const args = process.argv.slice(2);
const opt = { interval: 10, keys: 32, options: {} };
for (let i = 0; i < args.length; i++) {
  const a = args[i], v = args[i + 1];
  if (a === '--lib') opt.lib = v;
  else if (a === '--seeds') opt.seeds = v.split(',');
  else if (a === '--source') opt.source = v;
  else if (a === '--duration') opt.duration = parseFloat(v);
  else if (a === '--interval-ms') opt.interval = parseFloat(v);
  else if (a === '--keys') opt.keys = parseInt(v, 10);
  else if (a === '--ranges') opt.ranges = v.split(',').filter((x) => x);
  else if (a === '--option') {
    const eq = v.indexOf('=');
    const val = v.slice(eq + 1);
    opt.options[v.slice(0, eq)] = val === 'true' ? true : val === 'false' ? false :
      (/^-?\d+$/.test(val) ? parseInt(val, 10) : val);
  } else continue;
  i++;
}
if (!opt.lib || !opt.seeds || !opt.source || !opt.duration) {
  process.stderr.write('usage: node_probe.js --lib ioredis|node-redis|iovalkey|valkey-glide --seeds H:P --source IP --duration S\n');
  process.exit(2);
}

// None of the JavaScript libraries takes a source address for cluster
// connections: bind every TCP connection they open to the probe's address.
// (valkey-glide connects from Rust, past this: rift runs it in a cgroup that
// binds its connections instead.)
for (const name of ['connect', 'createConnection']) {
  const real = net[name];
  net[name] = function (...a) {
    if (a[0] && typeof a[0] === 'object' && !a[0].path) a[0] = Object.assign({ localAddress: opt.source }, a[0]);
    return real.apply(this, a);
  };
}

function crc16(buf) {
  let crc = 0;
  for (const b of buf) {
    crc ^= b << 8;
    for (let k = 0; k < 8; k++) crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
function keySlot(key) {
  const s = key.indexOf('{');
  if (s >= 0) {
    const e = key.indexOf('}', s + 1);
    if (e > s + 1) key = key.slice(s + 1, e);
  }
  return crc16(Buffer.from(key)) & 16383;
}
function spreadKeys(n, tag) {
  const keys = [];
  for (let i = 0; i < n; i++) {
    const lo = Math.floor(i * 16384 / n), hi = Math.floor((i + 1) * 16384 / n) - 1;
    for (let t = 0; ; t++) {
      const k = `rift:probe:${tag}:{${i}-${t}}`;
      const s = keySlot(k);
      if (s >= lo && s <= hi) { keys.push(k); break; }
    }
  }
  return keys;
}
function rangeKeys(ranges, tag) {
  const keys = [];
  (ranges || []).forEach((part, r) => {
    const [lo, hi] = part.split('-').map(Number);
    for (let t = 0, n = 0; n < 4; t++) {
      const k = `rift:probe:${tag}:r${r}:{${t}}`;
      const s = keySlot(k);
      if (s >= lo && s <= (isNaN(hi) ? lo : hi)) { keys.push(k); n++; }
    }
  });
  return keys;
}
const monoMs = () => Number(process.hrtime.bigint() / 1000000n);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const withTimeout = (p, ms) => Promise.race([p, new Promise((_, rej) =>
  setTimeout(() => rej(Object.assign(new Error(`no reply within ${ms} ms`), { name: 'Timeout' })), ms))]);

// The nodes' password comes in the environment (never on the command line)
// and is added after the header line, so that the report never holds it.
const password = process.env.RIFT_PASSWORD || '';
const withPassword = (settings, add) => {
  const s = Object.assign({}, settings);
  if (password) add(s, password);
  return s;
};

async function makeClient() {
  const nodes = opt.seeds.map((s) => { const i = s.lastIndexOf(':'); return { host: s.slice(0, i), port: +s.slice(i + 1) }; });
  if (opt.lib === 'ioredis' || opt.lib === 'iovalkey') { /* iovalkey: Valkey's fork of ioredis 5 */
    const Redis = require(opt.lib);
    // The settings rift runs it with, written out so that the report records
    // them: the library's defaults, except slotsRefreshInterval (off by
    // default since ioredis 5), which rift sets to 5 s.
    const settings = Object.assign({ slotsRefreshTimeout: 1000, slotsRefreshInterval: 5000,
      enableOfflineQueue: true, maxRedirections: 16, redisOptions: { connectTimeout: 1000 } }, opt.options);
    out({ probe: opt.lib, version: require(`${opt.lib}/package.json`).version, options: settings });
    const c = new Redis.Cluster(nodes, withPassword(settings, (s, pw) => {
      s.redisOptions = Object.assign({}, s.redisOptions, { password: pw });
    }));
    c.on('error', () => {});
    return { set: (k, v) => c.set(k, v), get: (k) => c.get(k) };
  }
  if (opt.lib === 'valkey-glide') {
    const { GlideClusterClient } = require('@valkey/valkey-glide');
    const path = require('path');
    const version = require(path.join(path.dirname(require.resolve('@valkey/valkey-glide')), '..',
      'package.json')).version;
    // GLIDE's defaults (periodic topology checks every 60 s, a refresh on
    // MOVED), with a request timeout as long as the other probes'.
    const settings = Object.assign({ requestTimeout: 1000, periodicChecks: 'enabledDefaultConfigs' }, opt.options);
    out({ probe: 'valkey-glide', version, options: settings });
    const c = await withTimeout(GlideClusterClient.createClient(Object.assign({ addresses: nodes },
      withPassword(settings, (s, pw) => { s.credentials = { password: pw }; }))), 5000);
    return { set: (k, v) => c.set(k, v), get: (k) => c.get(k) };
  }
  const { createCluster } = require('redis');
  const settings = Object.assign({ useReplicas: false, maxCommandRedirections: 16 }, opt.options);
  out({ probe: 'node-redis', version: require('redis/package.json').version, options: settings });
  const c = createCluster(Object.assign({
    rootNodes: nodes.map((n) => ({ socket: { host: n.host, port: n.port, connectTimeout: 1000 } })),
    defaults: Object.assign({ socket: { connectTimeout: 1000, reconnectStrategy: () => 200 } },
      password ? { password } : {}),
  }, settings));
  c.on('error', () => {});
  await withTimeout(c.connect(), 5000);
  return { set: (k, v) => c.set(k, v), get: (k) => c.get(k) };
}

async function main() {
  const tag = { ioredis: 'io', 'node-redis': 'nr', iovalkey: 'iv', 'valkey-glide': 'gl' }[opt.lib];
  const keys = spreadKeys(opt.keys, tag).concat(rangeKeys(opt.ranges, tag));
  const end = monoMs() + opt.duration * 1000;
  let client = null, i = 0;
  while (monoMs() < end) {
    const key = keys[i % keys.length];
    i++;
    for (const op of ['set', 'get']) {
      const rec = { t_ms: monoMs(), key, slot: keySlot(key), op };
      try {
        if (!client) client = await makeClient();
        if (op === 'set') await withTimeout(client.set(key, String(i)), 1000);
        else await withTimeout(client.get(key), 1000);
        Object.assign(rec, { ok: true, kind: 'ok', msg: '' });
      } catch (e) {
        Object.assign(rec, { ok: false, kind: (e && (e.name || e.constructor && e.constructor.name)) || 'Error',
          msg: String(e && e.message || e).slice(0, 200) });
      }
      out(rec);
    }
    await new Promise((r) => setTimeout(r, opt.interval));
  }
  process.exit(0);
}
process.on('SIGTERM', () => process.exit(0));
main();
