/**
 * The gateway's own connection to the production database, with credentials only the gateway
 * holds. Every session is started with the settings the gateway chooses (read-only by default);
 * nothing the client sent in its startup packet reaches the server except a short allow-list.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { ConnInfo } from '../pg/conninfo.js';
import { BodyReader, CANCEL_REQUEST, MessageReader, SSL_REQUEST, int32, message, packet, parseErrorFields, startupPacket, type Message } from './protocol.js';
import { ScramClient } from './scram.js';
import { errorMessage } from '../errors.js';

export interface UpstreamSession {
  socket: Duplex;
  /** ParameterStatus messages the server sent, to replay to the client. */
  parameters: Array<[string, string]>;
  pid: number;
  secret: number;
  /** Bytes after the first ReadyForQuery (normally none). */
  leftover: Buffer;
}

export class UpstreamError extends Error {
  constructor(message: string, readonly code = '08006') {
    super(message);
  }
}

function rawSocket(target: ConnInfo): Socket {
  // A host starting with "/" is a Unix socket directory, as in libpq.
  return target.host.startsWith('/') ? netConnect({ path: `${target.host}/.s.PGSQL.${target.port}` }) : netConnect({ host: target.host, port: target.port });
}

function waitConnect(s: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
}

function readByte(s: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      s.off('error', onErr);
      s.off('data', onData);
      s.pause();
      if (d.length > 1) s.unshift(d.subarray(1));
      resolve(d.subarray(0, 1));
    };
    const onErr = (e: Error) => reject(e);
    s.on('data', onData);
    s.once('error', onErr);
    s.resume();
  });
}

/** TLS to the upstream per its sslmode (disable, prefer, require, verify-ca, verify-full). */
async function maybeTls(s: Socket, target: ConnInfo): Promise<Duplex> {
  const mode = target.params.sslmode ?? (target.host.startsWith('/') ? 'disable' : 'prefer');
  if (mode === 'disable' || mode === 'allow' || target.host.startsWith('/')) return s;
  s.write(packet(int32(SSL_REQUEST)));
  const answer = (await readByte(s)).toString('latin1');
  if (answer !== 'S') {
    if (mode === 'prefer') return s;
    throw new UpstreamError(`upstream server refused TLS (sslmode=${mode})`);
  }
  const verify = mode === 'verify-ca' || mode === 'verify-full';
  const t = tlsConnect({ socket: s, servername: target.host, rejectUnauthorized: verify, checkServerIdentity: mode === 'verify-full' ? undefined : () => undefined });
  await new Promise<void>((resolve, reject) => {
    t.once('secureConnect', resolve);
    t.once('error', reject);
  });
  return t;
}

/** Next message from a socket during startup (before the relay takes over). */
function messages(sock: Duplex): { next(): Promise<Message>; rest(): Buffer; stop(): void } {
  const reader = new MessageReader();
  reader.typed = true;
  const waiting: Array<(m: Message | Error) => void> = [];
  let failure: Error | null = null;
  const pump = () => {
    for (;;) {
      if (!waiting.length) return;
      let m: Message | null;
      try {
        m = reader.next();
      } catch (e) {
        failure = e as Error;
        waiting.shift()!(failure);
        continue;
      }
      if (!m) return;
      waiting.shift()!(m);
    }
  };
  const onData = (d: Buffer) => {
    reader.push(d);
    pump();
  };
  const onEnd = () => {
    failure ??= new UpstreamError('upstream server closed the connection during startup');
    while (waiting.length) waiting.shift()!(failure);
  };
  sock.on('data', onData);
  sock.on('error', onEnd);
  sock.on('close', onEnd);
  sock.resume();
  return {
    next: () =>
      new Promise<Message>((resolve, reject) => {
        if (failure) return reject(failure);
        waiting.push((m) => (m instanceof Error ? reject(m) : resolve(m)));
        pump();
      }),
    rest: () => reader.pending(),
    stop() {
      sock.off('data', onData);
      sock.off('error', onEnd);
      sock.off('close', onEnd);
      sock.pause();
    },
  };
}

/**
 * Opens and authenticates a session. `options` become `-c name=value` server settings (e.g.
 * default_transaction_read_only=on); `params` are client startup parameters already filtered.
 */
export async function openUpstream(target: ConnInfo, options: Record<string, string>, params: Record<string, string>, timeoutMs = 10_000): Promise<UpstreamSession> {
  const s = rawSocket(target);
  s.setNoDelay(true);
  const timer = setTimeout(() => s.destroy(new UpstreamError(`upstream server ${target.host}:${target.port} did not answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    await waitConnect(s);
    const sock = await maybeTls(s, target);
    const opt = Object.entries(options).map(([k, v]) => `-c ${k}=${v.replace(/([\\ ])/g, '\\$1')}`).join(' ');
    // client_encoding UTF8 and standard_conforming_strings on are pinned: the gateway lexes SQL
    // that way, and the server must read the same bytes the same way (RESET returns here too).
    const pinned = `-c standard_conforming_strings=on -c backslash_quote=safe_encoding`;
    sock.write(startupPacket({ ...params, client_encoding: 'UTF8', user: target.user, database: target.database, options: opt ? `${opt} ${pinned}` : pinned }));
    const msgs = messages(sock);
    const parameters: Array<[string, string]> = [];
    let pid = 0;
    let secret = 0;
    let scram: ScramClient | null = null;
    for (;;) {
      const m = await msgs.next();
      if (m.type === 'E') {
        const f = parseErrorFields(m.body);
        throw new UpstreamError(`upstream server: ${f.M ?? 'error'}`, f.C ?? '08006');
      }
      if (m.type === 'R') {
        const r = new BodyReader(m.body);
        const code = r.int32();
        const password = target.password ?? '';
        if (code === 0) continue;
        if (code === 3) sock.write(message('p', password));
        else if (code === 5) {
          const salt = r.bytes(4);
          const inner = createHash('md5').update(password + target.user).digest('hex');
          sock.write(message('p', 'md5' + createHash('md5').update(Buffer.concat([Buffer.from(inner), salt])).digest('hex')));
        } else if (code === 10) {
          const mechs = r.rest().toString('utf8').split('\0');
          if (!mechs.includes('SCRAM-SHA-256')) throw new UpstreamError(`upstream offers no supported SASL mechanism (${mechs.filter(Boolean).join(', ')})`);
          scram = new ScramClient(password);
          const first = Buffer.from(scram.first());
          sock.write(message('p', 'SCRAM-SHA-256', int32(first.length), first));
        } else if (code === 11 && scram) {
          sock.write(message('p', Buffer.from(scram.final(r.rest().toString('utf8')))));
        } else if (code === 12 && scram) {
          if (!scram.verify(r.rest().toString('utf8'))) throw new UpstreamError('upstream server failed SCRAM verification (not the server it claims to be)');
        } else throw new UpstreamError(`upstream asks for an unsupported authentication method (${code})`);
        continue;
      }
      if (m.type === 'S') {
        const r = new BodyReader(m.body);
        parameters.push([r.cstring(), r.cstring()]);
      } else if (m.type === 'K') {
        const r = new BodyReader(m.body);
        pid = r.int32();
        secret = r.int32();
      } else if (m.type === 'Z') {
        msgs.stop();
        return { socket: sock, parameters, pid, secret, leftover: msgs.rest() };
      }
      // NoticeResponse and NegotiateProtocolVersion during startup are ignored.
    }
  } catch (err) {
    s.destroy();
    throw err instanceof UpstreamError ? err : new UpstreamError(`cannot reach upstream server: ${errorMessage(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Asks the upstream server to cancel the statement running in session (pid, secret). */
export async function sendCancel(target: ConnInfo, pid: number, secret: number): Promise<void> {
  const s = rawSocket(target);
  try {
    await waitConnect(s);
    await new Promise<void>((resolve) => s.end(packet(Buffer.concat([int32(CANCEL_REQUEST), int32(pid), int32(secret)])), resolve));
  } catch {
    /* a cancel is best effort, as in libpq */
  } finally {
    setTimeout(() => s.destroy(), 1000).unref();
  }
}
