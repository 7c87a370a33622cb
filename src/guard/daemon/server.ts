/**
 * The resident decision process: `node server.js <key> <project dir>`, started detached by the
 * hook client (client.ts). It keeps the decision modules loaded (config schema, shell parser, SQL
 * parser, rules) and answers hook calls on a private Unix socket with exactly the answer the
 * in-process hook would give: the same agentHook, given the caller's input, environment and
 * directory; it reads the project's files afresh on every call (nothing about a project is cached
 * but the modules).
 *
 * Trust: the socket sits in a 0700 directory of ours and is itself 0600, so only our user (and
 * root) can connect or put a socket there. The key (build + config bytes) is re-checked on every
 * call: a call whose project or config no longer hashes to this daemon's key is answered `stale`
 * (the client then decides in-process) and a daemon whose own config changed exits.
 *
 * Audit: the record of every decision is appended before the answer is sent, and a refusal's
 * record is fsynced first — a refusal the agent hears is on disk.
 */
import { createServer, connect, type Socket } from 'node:net';
import { chmodSync, lstatSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { decisionKey, privateDir, socketPath } from './key.js';
import type { DaemonRequest } from './client.js';
import type { Context } from '../../context.js';
import type { LoadedConfig } from '../../config/load.js';
import type { ToolVerdict } from '../tool-call.js';
import { agentHook, auditVerdict } from '../hook.js';
import { currentActor } from '../../audit/actor.js';
import { contextFrom } from '../../context.js';

const key = process.argv[2] ?? '';
const home = process.argv[3] ?? process.cwd();
const IDLE_MS = Number(process.env.PRODGUARD_GUARD_DAEMON_IDLE_MS ?? 10 * 60_000);
const MAX_REQUEST = 8 * 1024 * 1024;

process.umask(0o077);
const dir = privateDir(true);
if (!/^[0-9a-f]{32}$/.test(key) || !dir || decisionKey(home) !== key) process.exit(1);
const sock = socketPath(dir, key);
const marker = sock.replace(/\.sock$/, '.starting');
/** Our process id, for whoever must stop us by id (tests, the bench). */
const pidFile = sock.replace(/\.sock$/, '.pid');

// Load everything a decision needs before listening: the first answer is already warm.
await warmUp();

let idle: NodeJS.Timeout | undefined;
function touch(): void {
  if (idle) clearTimeout(idle);
  idle = setTimeout(() => void later.finally(() => quit(0)), IDLE_MS);
}

function quit(code: number): never {
  for (const ctx of held.values()) void ctx.close().catch(() => {});
  try {
    if (ino !== null && lstatSync(sock).ino === ino) {
      unlinkSync(sock);
      unlinkSync(pidFile);
    }
  } catch {
    /* already gone */
  }
  process.exit(code);
}

async function warmUp(): Promise<void> {
  // Whatever lazy imports the paths take (tree-sitter, libpg-query, zod config schema), once.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent' };
  for (const command of ["psql 'postgresql://u@127.0.0.1/db' -c 'select 1' && echo $(ls)", 'npm test']) {
    await agentHook('claude-code', JSON.stringify({ tool_name: 'Bash', tool_input: { command }, cwd: home }), env).catch(() => null);
  }
  await agentHook('claude-code', JSON.stringify({ tool_name: 'mcp__x__execute_sql', tool_input: { query: 'select 1' }, cwd: home }), env).catch(() => null);
}

/**
 * The audit record, through a context held open per config file (opening and closing the state
 * store per call costs more than the decision). A failed append retries once on a fresh context;
 * a second failure is ignored, as the in-process hook does (the decision stands either way).
 */
const held = new Map<string, Context>();
/** Audit appends of allowed calls, queued behind the answers. */
let later: Promise<void> = Promise.resolve();
async function audit(v: ToolVerdict, loaded: LoadedConfig | null, agent: string, actor: string): Promise<void> {
  if (!loaded) return;
  for (let attempt = 0; attempt < 2; attempt++) {
    let ctx = held.get(loaded.file);
    if (!ctx) held.set(loaded.file, (ctx = contextFrom(loaded)));
    try {
      await auditVerdict(v, loaded, agent, actor, ctx);
      return;
    } catch {
      held.delete(loaded.file);
      await ctx.close().catch(() => {});
    }
  }
}

async function answer(text: string): Promise<Record<string, unknown>> {
  const req = JSON.parse(text) as DaemonRequest;
  if (req.v !== 1 || req.key !== key || typeof req.stdin !== 'string' || typeof req.cwd !== 'string' || !req.env || typeof req.env !== 'object' || !['claude-code', 'cursor', 'gemini'].includes(req.agent)) {
    return { key, stale: true };
  }
  const agent = req.agent as 'claude-code' | 'cursor' | 'gemini';
  const env = req.env;
  const ans = await agentHook(agent, req.stdin, env, {
    fallbackCwd: req.cwd,
    accept: (call) => decisionKey(call.cwd) === key,
    // A refusal's record is on disk before the refusal is sent; an allowed call's record is
    // appended right after the answer (in order, by this process), off the agent's critical path.
    onDecision: async (v, loaded) => {
      const actor = currentActor(env);
      if (v.decision === 'allow') later = later.then(() => audit(v, loaded, agent, actor));
      else await audit(v, loaded, agent, actor);
    },
  });
  if (ans.stale) {
    if (decisionKey(home) !== key) setImmediate(() => quit(0));
    return { key, stale: true };
  }
  return { key, stdout: ans.stdout, stderr: ans.stderr, code: ans.code };
}

function serve(conn: Socket): void {
  touch();
  const chunks: Buffer[] = [];
  let size = 0;
  conn.on('error', () => conn.destroy());
  conn.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_REQUEST) conn.destroy();
    else chunks.push(c);
  });
  conn.on('end', () => {
    answer(Buffer.concat(chunks).toString('utf8'))
      .catch(() => ({ key, stale: true }))
      .then((a) => conn.end(JSON.stringify(a) + '\n'));
  });
}

let ino: number | null = null;
// Half-open: the client ends its side after the request and still reads the answer.
const server = createServer({ allowHalfOpen: true }, serve);

function listen(retry: boolean): void {
  server.once('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE' || !retry) quit(1);
    // A socket file is there: a live daemon keeps it; a dead one's file is removed and we take over.
    const probe = connect(sock);
    probe.on('connect', () => {
      probe.destroy();
      try {
        unlinkSync(marker);
      } catch {
        /* none */
      }
      process.exit(0);
    });
    probe.on('error', () => {
      try {
        unlinkSync(sock);
      } catch {
        /* raced with another starter */
      }
      listen(false);
    });
  });
  server.listen(sock, () => {
    chmodSync(sock, 0o600);
    ino = lstatSync(sock).ino;
    // Written whole, then renamed: a reader never sees an empty pid file (a pid of 0 signals the
    // reader's whole process group).
    writeFileSync(`${pidFile}.tmp`, `${process.pid}\n`, { mode: 0o600 });
    renameSync(`${pidFile}.tmp`, pidFile);
    try {
      unlinkSync(marker);
    } catch {
      /* another starter's marker, or none */
    }
    touch();
  });
}
listen(true);

// Every 10 s: a daemon whose socket was replaced, or whose project's config changed or went away, leaves.
setInterval(() => {
  try {
    if (ino !== null && lstatSync(sock).ino !== ino) process.exit(0);
  } catch {
    process.exit(0);
  }
  if (decisionKey(home) !== key) quit(0);
}, 10_000).unref();
// Queued audit records are written before a stop.
process.on('SIGTERM', () => void later.finally(() => quit(0)));
process.on('SIGINT', () => void later.finally(() => quit(0)));
