// Admission's own cost per message, without sockets or Aedes: validate + line protocol + group commit into a
// real spool on its worker thread (synchronous=FULL), driven as fast as commits allow. Prints CPU µs per message
// of the whole process and of its main thread, to compare changes to the hot path on a shared machine, where
// throughput figures move with other work but CPU per message much less.
// Usage: node --import tsx bench/ingest/admission-micro.ts [messages=300000] [devices=200] [perTurn=400]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Admission, type AdmissionDevice } from '../../common/admission/admission.ts';
import { SpoolWorker } from '../../broker/spool-worker.ts';
import { tagSet } from '../../common/contract/line-protocol.ts';
import type { Device, Firm } from '../../common/registry/registry.ts';

const total = Number(process.argv[2] ?? 300_000);
const deviceCount = Number(process.argv[3] ?? 200);
const perTurn = Number(process.argv[4] ?? 400);

/** CPU seconds of each thread of this process, by thread name and id (Linux /proc). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of fs.readdirSync(`/proc/${process.pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      out.set(`${tid === String(process.pid) ? 'main' : name}#${tid}`, (Number(f[11]) + Number(f[12])) / 100);
    } catch { /* the thread ended */ }
  }
  return out;
}

const firm: Firm = {
  id: '91533102MA0000000X', name: 'bench', county: '533102', park: 'ruili-coop', segment: 'weaving', aboveScale: true, aboveScaleSince: null,
  employees: 1, landMu: 1, smartFactoryTier: 'none', smartFactoryCertificateId: null, smartFactoryCertifiedOn: null, demo: true, createdAt: 0,
};
const devices: AdmissionDevice[] = Array.from({ length: deviceCount }, (_, i) => {
  const device: Device = {
    id: `micro-${i}`, firmId: firm.id, type: 'loom', name: `m${i}`, location: '', createdAt: 0, lastSeenAt: null, lastTelemetryAt: null, online: true,
    reportedStatus: null, seqReceived: 0, seqExpected: 0, clockSkewMs: null, tokenExpiresAt: null,
  };
  return { ctx: { device, firm }, tags: tagSet({ firmId: firm.id, deviceId: device.id, type: device.type, county: firm.county, park: firm.park, segment: firm.segment }) };
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dh-micro-'));
const spool = new SpoolWorker(path.join(dir, 'spool.db'));
const admission = new Admission(spool, { maxClockAheadMs: 300_000, maxAgeMs: 30 * 86_400_000 });
const baseTs = Date.now() - 3_600_000;
const seqs = new Array<number>(deviceCount).fill(0);
const topics = devices.map((d) => `dh/v1/${firm.id}/${d.ctx.device.id}/telemetry`);

function payload(i: number): Buffer {
  const seq = seqs[i]!++;
  const v = seq % 1000;
  return Buffer.from(`{"ts":${baseTs + seq},"seq":${seq},"metrics":{"speed_rpm":${600 + (v % 100)},"efficiency_pct":${80 + (v % 20)},"picks_total":${Math.floor(seq / 100)},"fabric_m_total":${seq / 1e6},"power_kw":${3 + (v % 3)},"energy_kwh_total":${seq / 1e6}}}`);
}

let sent = 0;
let acked = 0;
let rejected = 0;
const cpu0 = process.cpuUsage();
const threads0 = threadCpu();
const t0 = performance.now();
await new Promise<void>((resolve) => {
  const turn = (): void => {
    // Like a broker with many sockets: a burst of publishes per event-loop turn, bounded in flight.
    for (let k = 0; k < perTurn && sent < total && sent - acked < 20_000; k++) {
      const i = sent % deviceCount;
      sent++;
      admission.admit(devices[i]!, 'telemetry', topics[i]!, payload(i), (err, verdict) => {
        if (err) throw err;
        if (verdict.problems.length > 0) rejected++;
        if (++acked === total) resolve();
      });
    }
    if (sent < total) setImmediate(turn);
  };
  turn();
});
const secs = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const threads = [...threadCpu()].map(([k, v]) => [k, v - (threads0.get(k) ?? 0)] as const).filter(([, v]) => v > 0.05);
const byName = new Map<string, number>();
for (const [k, v] of threads) byName.set(k.split('#')[0]!, (byName.get(k.split('#')[0]!) ?? 0) + v);
await admission.close();
await spool.close();
fs.rmSync(dir, { recursive: true, force: true });
const us = (s: number) => ((s * 1e6) / total).toFixed(1);
console.log(JSON.stringify({
  messages: total, rejected, seconds: +secs.toFixed(2), msgPerSec: Math.round(total / secs), commits: admission.stats.commits,
  cpuMicrosPerMsg: +us((cpu.user + cpu.system) / 1e6), userMicros: +us(cpu.user / 1e6), systemMicros: +us(cpu.system / 1e6), threadsMicrosPerMsg: Object.fromEntries(threads.map(([k, v]) => [k, +us(v)])),
}));
