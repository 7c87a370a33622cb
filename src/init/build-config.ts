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
  s3Bucket: string;
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
      destinations: [
        { name: 'local', type: 'local', path: '.prodguard/backups' },
        { name: 'offsite', type: 's3', bucket: a.s3Bucket, prefix: `${a.name}/`, accessKeyIdEnv: 'AWS_ACCESS_KEY_ID', secretAccessKeyEnv: 'AWS_SECRET_ACCESS_KEY' },
      ],
      retention: { daily: 7, weekly: 4, monthly: 12, minAge: '24h' },
    },
    schedules: { backup: '0 3 * * *', verify: '30 3 * * *', drill: '0 4 * * 0', drift: '0 * * * *', prune: '0 5 * * *' },
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
