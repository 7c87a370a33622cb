/**
 * Red team w5c-029..032: a signed S3 destination without `endpoint` must go to AWS's own endpoint
 * for its region. The AWS SDK otherwise takes an endpoint from AWS_ENDPOINT_URL_S3,
 * AWS_ENDPOINT_URL, or endpoint_url / a `services` section in AWS_CONFIG_FILE — none of which the
 * policy signs. A loopback HTTP receiver stands for the attacker's server; the client's request
 * handler forwards loopback requests to it for real and records (without sending) anything else,
 * so no test traffic ever leaves 127.0.0.1.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3ClientConfig, type S3DestinationConfig } from '../../src/backup/destinations/s3.js';

const received: string[] = [];
let server: Server;
let port = 0;
const dir = mkdtempSync(join(tmpdir(), 'pg-s3-endpoint-'));
const ENV_KEYS = ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'AWS_CONFIG_FILE', 'AWS_PROFILE', 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS'];
const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));

after(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
});

async function receiver(): Promise<void> {
  if (server) return;
  server = createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { ETag: '"x"' });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
}

const cfg = (over: Partial<S3DestinationConfig> = {}): S3DestinationConfig => ({
  name: 'offsite', bucket: 'acme-prod-backups', prefix: 'prod', region: 'eu-west-1', forcePathStyle: false, accessKeyIdEnv: 'A', secretAccessKeyEnv: 'B', ...over,
});

/** PUTs one object; returns the host it was addressed to (loopback ones really reach the receiver). */
async function putOnce(c: S3DestinationConfig): Promise<string> {
  let host = '';
  const handler = {
    metadata: { handlerProtocol: 'http/1.1' },
    destroy() {},
    async handle(req: { hostname: string; port?: number; path: string; method: string; headers: Record<string, string>; body?: unknown; query?: Record<string, string> }) {
      host = `${req.hostname}${req.port ? `:${req.port}` : ''}`;
      let status = 200;
      if (req.hostname === '127.0.0.1') {
        status = await new Promise<number>((resolve, reject) => {
          const r = httpRequest({ host: '127.0.0.1', port: req.port, method: req.method, path: req.path, headers: req.headers }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          r.on('error', reject);
          r.end(typeof req.body === 'string' || Buffer.isBuffer(req.body) || req.body instanceof Uint8Array ? req.body : undefined);
        });
      }
      return { response: { statusCode: status, reason: '', headers: { etag: '"x"' }, body: Readable.from([]) } };
    },
  };
  const client = new S3Client({ ...s3ClientConfig(c, { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' }), requestHandler: handler as never });
  await client.send(new PutObjectCommand({ Bucket: c.bucket, Key: 'prod/manifest.json', Body: Buffer.from('{}'), ContentLength: 2 }));
  client.destroy();
  return host;
}

function clearEnv(): void {
  for (const k of ENV_KEYS) delete process.env[k];
}

test('w5c-029..032: the receiver is real: an explicit endpoint in the signed config reaches it', async () => {
  await receiver();
  clearEnv();
  const before = received.length;
  assert.equal(await putOnce(cfg({ endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true })), `127.0.0.1:${port}`);
  assert.equal(received.length, before + 1);
});

test('w5c-029: AWS_ENDPOINT_URL_S3 does not redirect a destination without endpoint: the PUT goes to AWS for the region, the receiver gets nothing', async () => {
  await receiver();
  clearEnv();
  process.env.AWS_ENDPOINT_URL_S3 = `http://127.0.0.1:${port}`;
  const before = received.length;
  assert.equal(await putOnce(cfg()), 'acme-prod-backups.s3.eu-west-1.amazonaws.com');
  assert.equal(received.length, before, 'nothing reached the AWS_ENDPOINT_URL_S3 server');
});

test('w5c-030: AWS_ENDPOINT_URL does not redirect it either', async () => {
  await receiver();
  clearEnv();
  process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${port}`;
  const before = received.length;
  assert.equal(await putOnce(cfg()), 'acme-prod-backups.s3.eu-west-1.amazonaws.com');
  assert.equal(received.length, before);
});

test('w5c-031, w5c-032: endpoint_url and a services section in AWS_CONFIG_FILE do not redirect it', async () => {
  await receiver();
  clearEnv();
  const file = join(dir, 'config');
  writeFileSync(file, `[default]\nendpoint_url = http://127.0.0.1:${port}\n\n[profile dave]\nservices = evil\n\n[services evil]\ns3 =\n  endpoint_url = http://127.0.0.1:${port}\n`);
  process.env.AWS_CONFIG_FILE = file;
  const before = received.length;
  assert.equal(await putOnce(cfg()), 'acme-prod-backups.s3.eu-west-1.amazonaws.com');
  process.env.AWS_PROFILE = 'dave';
  assert.equal(await putOnce(cfg()), 'acme-prod-backups.s3.eu-west-1.amazonaws.com');
  assert.equal(received.length, before);
});

test('w5c-090: an explicit endpoint is kept even with AWS_ENDPOINT_URL_S3 set elsewhere', async () => {
  await receiver();
  clearEnv();
  process.env.AWS_ENDPOINT_URL_S3 = 'http://127.0.0.2:9';
  assert.equal(await putOnce(cfg({ endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true })), `127.0.0.1:${port}`);
});
