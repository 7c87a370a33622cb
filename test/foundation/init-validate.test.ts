/** prodguard init's refusals (src/init/validate-answers.ts), before anything is written. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerChecks, validateInitAnswers, type InitChoices } from '../../src/init/validate-answers.js';
import type { InitAnswers } from '../../src/init/build-config.js';

const good: InitAnswers = { name: 'acme', productionUrlEnv: 'PROD_URL', stagingUrlEnv: 'STAGING_URL', localUrlEnv: 'LOCAL_URL', productionRef: 'abcd1234efgh', stagingRef: 'wxyz9876stuv', seniors: [], secondPlace: 's3', secondBucketEnv: 'B2', secondDirEnv: 'D2' };

test('good answers pass', () => {
  assert.doesNotThrow(() => validateInitAnswers(good));
  assert.doesNotThrow(() => validateInitAnswers({ ...good, productionRef: undefined, stagingRef: undefined }));
});

test('a URL where a variable name belongs, a bad ref, one project for both, a bad second place: one line each, exit 2', () => {
  const cases: Array<[Partial<InitAnswers>, RegExp]> = [
    [{ productionUrlEnv: 'postgresql://u:p@h/db' }, /^--production-url-env: "postgresql:\/\/u:p@h\/db" is not an environment variable name \(a URL never goes into prodguard\.yaml\)$/],
    [{ secondDirEnv: '/mnt/backups' }, /^--second-dir-env: "\/mnt\/backups" is not an environment variable name/],
    [{ stagingRef: 'Not-A-Ref' }, /^--staging-ref: "Not-A-Ref" is not a Supabase project ref \(lowercase letters and digits\)$/],
    [{ stagingRef: 'abcd1234efgh' }, /^production and staging cannot have the same Supabase project ref$/],
    [{ secondPlace: 'ftp' as 's3' }, /^--second-place: "ftp" is not s3 or dir$/],
  ];
  for (const [change, message] of cases) {
    assert.throws(() => validateInitAnswers({ ...good, ...change }), (err: Error & { exitCode?: number }) => message.test(err.message) && err.exitCode === 2, JSON.stringify(change));
  }
});

test('the message names where the production ref came from', () => {
  assert.throws(() => validateInitAnswers({ ...good, productionRef: 'BAD' }, 'supabase/.temp/project-ref'), /^UsageError: supabase\/\.temp\/project-ref: "BAD" is not a Supabase project ref/);
});

test('one module holds every init check: what the wiring flags accept, in the order the CLI reports them', () => {
  const cases: Array<[Partial<InitChoices>, RegExp]> = [
    [{ agents: 'claude-code,vim' }, /^--agents: unknown agent\(s\): vim \(claude-code, cursor, gemini, or none\)$/],
    [{ ci: 'jenkins' }, /^--ci: "jenkins" is not github or none$/],
    [{ schedule: 'cron' }, /^--schedule: "cron" is not serve or ci$/],
    [{ seniors: ['alice', 'bad name!'] }, /^--senior: not a name: bad name! \(letters, digits, \. _ -\)$/],
    [{ schedule: 'ci', ci: 'none' }, /^--schedule ci needs the scheduled workflow: add --ci github$/],
    // The first problem wins, wiring flags before variables.
    [{ agents: 'vim', productionUrlEnv: 'postgresql://u:p@h/db' }, /^--agents: /],
  ];
  for (const [change, message] of cases) {
    assert.throws(() => validateInitAnswers({ ...good, ci: 'github', agents: 'none', schedule: 'serve', ...change }), (err: Error & { exitCode?: number }) => message.test(err.message) && err.exitCode === 2, JSON.stringify(change));
  }
  assert.doesNotThrow(() => validateInitAnswers({ ...good, agents: 'claude-code, cursor,gemini', ci: 'github', schedule: 'ci' }));
  // The dialogue's checks are the same functions: a bad answer is a sentence, a good one null.
  assert.equal(answerChecks.stagingVariable('PROD_URL')('PROD_URL'), 'staging cannot use the production variable');
  assert.equal(answerChecks.stagingRef('abcd1234efgh')('abcd1234efgh'), 'staging cannot have production\'s project ref');
  assert.equal(answerChecks.name('acme.app'), null);
  assert.match(answerChecks.name('-x') ?? '', /is not a project name/);
});
