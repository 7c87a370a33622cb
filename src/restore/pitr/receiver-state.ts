/**
 * What `pitr status` says about the streaming receiver (`pitr stream`), and which findings make
 * the status command fail: WAL gaps, a missing timeline history, a failing archive_command, a
 * streaming receiver that is not connected.
 */
import type { Context } from '../../context.js';
import type { PitrStatus } from './status.js';
import { STREAM_STATE_COLLECTION, type StreamStateDoc } from './stream.js';
import { processAlive } from '../../os/process-alive.js';

export interface ReceiverState {
  state: 'connected' | 'reconnecting' | 'stopped' | 'not running';
  since: string;
  pid: number;
  gaps: StreamStateDoc['gaps'];
}


/** The receiver's last recorded state; a recorded "connected" whose process is gone is "not running". */
export async function receiverState(ctx: Context, env: string): Promise<ReceiverState | null> {
  const doc = await (await ctx.store()).get<StreamStateDoc>(STREAM_STATE_COLLECTION, env);
  if (!doc) return null;
  const state = doc.state !== 'stopped' && !processAlive(doc.pid) ? 'not running' : doc.state;
  return { state, since: doc.since, pid: doc.pid, gaps: doc.gaps };
}

export function pitrProblems(s: PitrStatus & { receiver: ReceiverState | null }): string[] {
  const p: string[] = [];
  if (s.gaps.length) p.push(`${s.gaps.length} missing WAL segment(s), first ${s.gaps[0]}`);
  if (s.missingHistory) p.push(`timeline history ${s.missingHistory} missing`);
  if (s.server?.archiverFailing) p.push(`archive_command is failing (last failed ${s.server.lastFailedWal})`);
  if (s.method === 'streaming' && s.server?.reachable && s.server.streaming && !s.server.streaming.active) p.push('the streaming receiver is not connected (run `prodguard pitr stream`)');
  return p;
}
