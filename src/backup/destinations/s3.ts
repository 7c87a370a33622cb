/**
 * S3-compatible destination (AWS S3, MinIO, R2, B2, Supabase Storage, s3rver). Streams go through
 * lib-storage's multipart Upload: parts are buffered a few MiB at a time, and the object becomes
 * visible only when CompleteMultipartUpload succeeds — a killed process leaves at most an
 * unfinished multipart upload, never a partial object. Credentials come from the environment
 * variables named in the config.
 */
import { Readable } from 'node:stream';
import {
  S3Client,
  type S3ClientConfig,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  DeleteObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Destination } from './types.js';
import { UsageError } from '../../errors.js';

export interface S3DestinationConfig {
  name: string;
  bucket: string;
  prefix: string;
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  accessKeyIdEnv: string;
  secretAccessKeyEnv: string;
}

function notFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/**
 * The client's settings. Without an `endpoint` in the (signed) config the bytes go to AWS's own
 * endpoint for the region, whatever the environment says: the SDK otherwise honours
 * AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, and endpoint_url / a `services` section in
 * AWS_CONFIG_FILE or ~/.aws/config, any of which would send production's backup to another server
 * than the one the policy signs (red team w5c-029..032). An explicit endpoint is never overridden.
 */
export function s3ClientConfig(cfg: S3DestinationConfig, credentials: { accessKeyId: string; secretAccessKey: string }): S3ClientConfig {
  return {
    region: cfg.region,
    endpoint: cfg.endpoint,
    forcePathStyle: cfg.forcePathStyle,
    credentials,
    maxAttempts: 2,
    ignoreConfiguredEndpointUrls: true,
  };
}

export function s3Destination(cfg: S3DestinationConfig, env: Record<string, string | undefined> = process.env): Destination {
  const accessKeyId = env[cfg.accessKeyIdEnv];
  const secretAccessKey = env[cfg.secretAccessKeyEnv];
  if (!accessKeyId || !secretAccessKey) {
    throw new UsageError(`destination "${cfg.name}": set ${cfg.accessKeyIdEnv} and ${cfg.secretAccessKeyEnv} (S3 credentials)`, 'backup.s3-credentials');
  }
  // The SDK warns on every run that FUTURE releases will need Node 22; not actionable for users.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new S3Client(s3ClientConfig(cfg, { accessKeyId, secretAccessKey }));
  const prefix = cfg.prefix ? cfg.prefix.replace(/\/+$/, '') + '/' : '';
  const full = (key: string) => prefix + key;
  return {
    name: cfg.name,
    kind: 's3',
    location: `s3://${cfg.bucket}/${prefix}${cfg.endpoint ? ` at ${cfg.endpoint}` : ''}`,
    async putStream(key, body) {
      const upload = new Upload({
        client,
        params: { Bucket: cfg.bucket, Key: full(key), Body: body },
        queueSize: 4,
        partSize: 8 * 1024 * 1024,
        leavePartsOnError: false,
      });
      await upload.done();
    },
    async putBytes(key, body) {
      await client.send(new PutObjectCommand({ Bucket: cfg.bucket, Key: full(key), Body: body, ContentLength: body.length }));
    },
    async getStream(key) {
      try {
        const res = await client.send(new GetObjectCommand({ Bucket: cfg.bucket, Key: full(key) }));
        return res.Body as Readable;
      } catch (err) {
        if (notFound(err)) return null;
        throw err;
      }
    },
    async getBytes(key) {
      const s = await this.getStream(key);
      if (!s) return null;
      const chunks: Buffer[] = [];
      for await (const c of s) chunks.push(Buffer.from(c as Uint8Array));
      return Buffer.concat(chunks);
    },
    async exists(key) {
      try {
        await client.send(new HeadObjectCommand({ Bucket: cfg.bucket, Key: full(key) }));
        return true;
      } catch (err) {
        if (notFound(err)) return false;
        throw err;
      }
    },
    async list(p) {
      const out: Array<{ key: string; bytes: number; modified: Date }> = [];
      let token: string | undefined;
      do {
        const res = await client.send(new ListObjectsV2Command({ Bucket: cfg.bucket, Prefix: full(p), ContinuationToken: token }));
        for (const o of res.Contents ?? []) {
          if (o.Key) out.push({ key: o.Key.slice(prefix.length), bytes: o.Size ?? 0, modified: o.LastModified ?? new Date(0) });
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket: cfg.bucket, Key: full(key) }));
    },
    async close() {
      client.destroy();
    },
  };
}
