/**
 * The prodguard.yaml that `init` writes. Connections are only ever the *names* of variables;
 * the file is validated against the schema before it is written.
 */
import { stringify } from 'yaml';
import { checkConfigText } from '../config/load.js';
import { ProdguardError } from '../errors.js';
import type { DetectedLayout } from './detect.js';

export interface InitAnswers {
  name: string;
  productionUrlEnv: string;
  stagingUrlEnv: string;
  localUrlEnv: string;
  productionRef?: string;
  stagingRef?: string;
  seniors: string[];
  /** A literal bucket name; default: the variable PRODGUARD_BACKUP_BUCKET. */
  s3Bucket?: string;
  s3EndpointEnv?: string;
  /** The second, independent place: another S3-compatible provider (default) or a directory on another disk. */
  secondPlace?: 's3' | 'dir';
  secondBucketEnv?: string;
  secondEndpointEnv?: string;
  secondDirEnv?: string;
  /** Who runs the daily backup: `prodguard serve` (default) or the scheduled CI workflow. */
  schedule?: 'serve' | 'ci';
}

export function buildConfigText(layout: DetectedLayout, a: InitAnswers): string {
  const env = (kind: string, urlEnv: string, ref?: string) => ({ kind, urlEnv, ...(ref ? { supabaseRef: ref } : {}) });
  const raw = {
    version: 1,
    project: { name: a.name, layout: layout.layout, migrationsDir: layout.migrationsDir },
    environments: {
      local: env('local', a.localUrlEnv),
      staging: env('staging', a.stagingUrlEnv, a.stagingRef),
      production: env('production', a.productionUrlEnv, a.productionRef),
    },
    team: a.seniors.map((name) => ({ name, role: 'senior', publicKey: null })),
    backup: {
      encryption: { recipients: [], identityEnv: 'PRODGUARD_AGE_IDENTITY' },
      // Two independent places, both named by variables (no placeholder bucket, no folder inside the project).
      destinations: [
        { name: 'offsite', type: 's3', bucket: a.s3Bucket ?? '${PRODGUARD_BACKUP_BUCKET}', prefix: `${a.name}/`, ...(a.s3EndpointEnv ? { endpoint: `\${${a.s3EndpointEnv}}` } : {}), accessKeyIdEnv: 'AWS_ACCESS_KEY_ID', secretAccessKeyEnv: 'AWS_SECRET_ACCESS_KEY' },
        a.secondPlace === 'dir'
          ? { name: 'second', type: 'local', path: `\${${a.secondDirEnv ?? 'PRODGUARD_BACKUP_DIR'}}` }
          : { name: 'second', type: 's3', bucket: `\${${a.secondBucketEnv ?? 'PRODGUARD_BACKUP_BUCKET_2'}}`, prefix: `${a.name}/`, ...(a.secondEndpointEnv ? { endpoint: `\${${a.secondEndpointEnv}}` } : {}), accessKeyIdEnv: 'SECOND_ACCESS_KEY_ID', secretAccessKeyEnv: 'SECOND_SECRET_ACCESS_KEY' },
      ],
      retention: { daily: 7, weekly: 4, monthly: 12, minAge: '24h' },
    },
    schedules: { backup: '0 3 * * *', verify: '30 3 * * *', drill: '0 4 * * 0', drift: '0 * * * *', prune: '0 5 * * *' },
    ...(a.schedule === 'ci' ? { server: { schedule: 'ci' } } : {}),
  };
  const text =
    '# prodguard configuration — see docs/configuration.md. Never put passwords here: connections are\n' +
    '# names of environment variables (urlEnv) or files (urlFile) that hold the URL.\n' +
    '# yaml-language-server: $schema=./prodguard.schema.json\n' +
    stringify(raw);
  const { problems } = checkConfigText(text);
  if (problems.length) throw new ProdguardError(`internal: generated config is invalid: ${problems[0].path}: ${problems[0].message}`);
  return text;
}
