'use strict';
// rift for Node.js test suites: the line protocol of a run's control
// socket (docs/live.md), with a promise API and a timeout on every request.
//
//   const rift = require('rift-live');
//   const cluster = await rift.connect();          // RIFT_CTL of rift run SCN -- node --test
//   await cluster.fault('a-to-c', true);
//   await cluster.failover('m1r1');
//   const cycles = await cluster.check('cycles');
//
// The nodes are in the run's network namespace: a program started by
// `rift run SCN -- CMD` is in it already (RIFT_SEEDS, RIFT_PASSWORD). A
// process outside it (after rift.up) reaches only the control socket.

const net = require('net');
const { execFile } = require('child_process');
const path = require('path');

class RiftError extends Error {}

// A duration as rift takes it ('500ms', '20s', '2m', '1h') in seconds.
function seconds(d) {
  for (const [unit, mul] of [['ms', 1e-3], ['us', 1e-6], ['ns', 1e-9], ['s', 1], ['m', 60], ['h', 3600]]) {
    if (d.endsWith(unit)) return parseFloat(d.slice(0, -unit.length)) * mul;
  }
  return parseFloat(d);
}

class Reply {
  constructor(line) {
    this.line = line;
    this.ok = line === 'ok' || line.startsWith('ok ');
    this.text = this.ok ? line.slice(3) : line.startsWith('fail ') ? line.slice(5) : line;
  }
}

class Cluster {
  constructor(socketPath, { timeout = 60000 } = {}) {
    this.socketPath = socketPath;
    this.timeout = timeout;
    this.info = null;
    this.result = null;
    this._buf = '';
    this._waiting = [];
    this._queue = Promise.resolve();
  }

  _open() {
    return new Promise((resolve, reject) => {
      const sock = net.createConnection(this.socketPath);
      const fail = (e) => reject(new RiftError(`${this.socketPath}: ${e.message} (is the run up?)`));
      sock.once('error', fail);
      sock.once('connect', () => {
        sock.off('error', fail);
        sock.setEncoding('utf8');
        sock.on('data', (d) => this._data(d));
        sock.on('close', () => this._closed());
        sock.on('error', () => {});
        this.sock = sock;
        resolve(this);
      });
    });
  }

  _data(d) {
    this._buf += d;
    let nl;
    while ((nl = this._buf.indexOf('\n')) >= 0) {
      const line = this._buf.slice(0, nl);
      this._buf = this._buf.slice(nl + 1);
      const w = this._waiting.shift();
      if (w) w.resolve(line);
    }
  }

  _closed() {
    this.sock = null;
    for (const w of this._waiting.splice(0)) w.reject(new RiftError('rift closed the control socket (the run ended)'));
  }

  _line(timeout) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        const i = this._waiting.indexOf(w);
        if (i >= 0) this._waiting.splice(i, 1);
        reject(new RiftError(`no reply from rift within ${timeout} ms`));
      }, timeout);
      const w = {
        resolve: (l) => { clearTimeout(t); resolve(l); },
        reject: (e) => { clearTimeout(t); reject(e); },
      };
      this._waiting.push(w);
    });
  }

  // One request, one Reply; "error: ..." rejects with a RiftError (nothing
  // of the request was applied). Requests go one at a time, in order.
  request(line, timeout = this.timeout) {
    const run = async () => {
      if (!this.sock) throw new RiftError('the control socket is closed');
      if (line.includes('\n')) throw new RiftError('a request is one line');
      const got = this._line(timeout);
      this.sock.write(line + '\n');
      const reply = new Reply(await got);
      if (reply.line.startsWith('error:')) throw new RiftError(reply.line.slice(6).trim());
      return reply;
    };
    const p = this._queue.then(run, run);
    this._queue = p.catch(() => {});
    return p;
  }

  async _json(req) { return JSON.parse((await this.request(req)).text); }

  failover(node, mode) { return this.request(`failover ${node}${mode ? ' ' + mode : ''}`); }
  kill(node) { return this.request(`kill ${node}`); }
  restart(node) { return this.request(`restart ${node}`); }
  pause(node) { return this.request(`pause ${node}`); }
  resume(node) { return this.request(`resume ${node}`); }
  migrate(slots, src, dst, atomic = false) {
    return this.request(`migrate ${slots} ${src} ${dst}${atomic ? ' atomic' : ''}`);
  }
  fault(name, on = true) { return this.request(`fault ${name} ${on ? 'on' : 'off'}`); }
  set(fault, key, value) { return this.request(`set ${fault} ${key} ${value}`); }
  mark(text) { return this.request(`mark ${text}`); }
  ping() { return this.request('ping'); }
  waitConverged(timeout = '30s') {
    return this.request(`wait converged ${timeout}`, (seconds(timeout) + 30) * 1000);
  }
  async checks() { return (await this._json('checks')).checks; }
  async check(name) { return (await this.checks()).find((c) => c.name === name); }
  async views() {
    const out = {};
    for (const v of (await this._json('views')).views) out[v.name] = v.view;
    return out;
  }

  // rift down (a run of rift up): the summary and rift run's exit status.
  async down(timeout = 180000) {
    if (this.result) return this.result;
    const lines = [];
    let status = null;
    const first = this._line(timeout);
    this.sock.write('down\n');
    let line = await first;
    for (;;) {
      if (line.startsWith('error:')) throw new RiftError(line.slice(6).trim());
      if (line.startsWith('exit ')) { status = parseInt(line.slice(5), 10); break; }
      lines.push(line);
      line = await this._line(timeout);
    }
    this.close();
    this.result = { status, summary: lines.join('\n'), report: this.info && this.info.report };
    return this.result;
  }

  close() { if (this.sock) this.sock.end(); }
}

// The run this process was started by (rift run SCN -- CMD: RIFT_CTL).
async function connect(socketPath = process.env.RIFT_CTL, opts = {}) {
  if (!socketPath) throw new RiftError('no control socket: RIFT_CTL is not set (run under rift run SCN -- CMD)');
  const c = await new Cluster(socketPath, opts)._open();
  c.info = await c._json('info');
  return c;
}

// rift up SCENARIO: resolves once the run serves.
function up(scenario, { report, server, grace = '30s', rift = 'rift', timeout = 180000 } = {}) {
  const argv = ['up', path.resolve(scenario), '--grace', grace];
  if (report) argv.push('--report', path.resolve(report));
  if (server) argv.push('--server', server);
  return new Promise((resolve, reject) => {
    execFile(rift, argv, { timeout }, async (err, stdout, stderr) => {
      if (err) return reject(new RiftError(`rift up ${scenario}: ${stderr.trim().slice(-2000) || err.message}`));
      try {
        const info = JSON.parse(stdout.trim().split('\n').pop());
        const c = await new Cluster(info.socket)._open();
        c.info = info;
        resolve(c);
      } catch (e) { reject(e); }
    });
  });
}

module.exports = { connect, up, Cluster, Reply, RiftError };
