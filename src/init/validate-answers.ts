/**
 * What `prodguard init` refuses before writing anything: a variable name that is not one (a URL
 * pasted where its variable belongs: passwords never go into prodguard.yaml), a Supabase ref that
 * is not one (the schema's own pattern), production and staging on the same project.
 */
import type { InitAnswers } from './build-config.js';
import { ENV_VAR_NAME, SUPABASE_REF } from '../config/patterns.js';
import { UsageError } from '../errors.js';

/** `productionRefSource` names where the production ref came from, for the message. */
export function validateInitAnswers(a: InitAnswers, productionRefSource = '--production-ref'): void {
  if (a.secondPlace !== 's3' && a.secondPlace !== 'dir') throw new UsageError(`--second-place: "${a.secondPlace}" is not s3 or dir`);
  const vars: Array<[string, string | undefined]> = [
    ['--production-url-env', a.productionUrlEnv],
    ['--staging-url-env', a.stagingUrlEnv],
    ['--local-url-env', a.localUrlEnv],
    ['--second-dir-env', a.secondDirEnv],
    ['--second-bucket-env', a.secondBucketEnv],
  ];
  for (const [flag, v] of vars) {
    if (v !== undefined && !ENV_VAR_NAME.test(v)) throw new UsageError(`${flag}: "${v}" is not an environment variable name (a URL never goes into prodguard.yaml)`);
  }
  for (const [flag, v] of [[productionRefSource, a.productionRef], ['--staging-ref', a.stagingRef]] as const) {
    if (v && !SUPABASE_REF.test(v)) throw new UsageError(`${flag}: "${v}" is not a Supabase project ref (lowercase letters and digits)`);
  }
  if (a.productionRef && a.productionRef === a.stagingRef) throw new UsageError('production and staging cannot have the same Supabase project ref');
}
