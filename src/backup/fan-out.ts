/**
 * Writes one stream to several destinations at once, hashing it on the way: the source is read
 * once, each chunk goes to every destination still alive, and the slowest healthy destination
 * sets the pace (backpressure), so memory stays bounded whatever the dump size. A destination that
 * fails is dropped and reported; the others carry on.
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import type { Destination } from './destinations/types.js';
import { maskSecrets } from '../security/mask.js';

export interface FanOutResult {
  bytes: number;
  sha256: string;
  /** Destinations that failed, with the reason (masked). */
  failed: Map<string, string>;
}

export function describeError(err: unknown): string {
  const e = err as { message?: string; name?: string; code?: string };
  const msg = e?.message || e?.name || e?.code || String(err);
  return maskSecrets(msg.split('\n')[0]);
}

export async function fanOut(source: Readable, dests: Destination[], key: string, onBytes?: (n: number) => void): Promise<FanOutResult> {
  const hash = createHash('sha256');
  let bytes = 0;
  const failed = new Map<string, string>();
  const lanes = dests.map((d) => {
    const pass = new PassThrough({ highWaterMark: 1 << 20 });
    const lane = { dest: d, pass, alive: true, done: null as unknown as Promise<void> };
    lane.done = d.putStream(key, pass).catch((err) => {
      lane.alive = false;
      failed.set(d.name, describeError(err));
      pass.destroy();
    });
    return lane;
  });
  const waitDrain = (p: PassThrough, lane: { alive: boolean }) =>
    new Promise<void>((resolve) => {
      if (!lane.alive) return resolve();
      const done = () => {
        p.off('drain', done);
        p.off('close', done);
        clearInterval(t);
        resolve();
      };
      p.on('drain', done);
      p.on('close', done);
      // A lane that failed without closing its stream must not stall the others.
      const t = setInterval(() => {
        if (!lane.alive) done();
      }, 200);
    });
  try {
    for await (const chunk of source) {
      const buf = chunk as Buffer;
      hash.update(buf);
      bytes += buf.length;
      onBytes?.(buf.length);
      const waits: Promise<void>[] = [];
      for (const l of lanes) {
        if (!l.alive) continue;
        if (!l.pass.write(buf)) waits.push(waitDrain(l.pass, l));
      }
      if (waits.length) await Promise.all(waits);
      if (lanes.every((l) => !l.alive)) break;
    }
  } catch (err) {
    for (const l of lanes) l.pass.destroy(err as Error);
    await Promise.all(lanes.map((l) => l.done));
    throw err;
  }
  for (const l of lanes) if (l.alive) l.pass.end();
  await Promise.all(lanes.map((l) => l.done));
  return { bytes, sha256: hash.digest('hex'), failed };
}
