/**
 * Red team w5d (doc error): `config check` said PRODGUARD_AGE_IDENTITY was missing although
 * backup.encryption.identityFile was set — the identity's other documented place.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfigText } from '../../src/config/load.js';
import { missingVariables } from '../../src/config/missing-variables.js';

const yaml = (encryption: string) => `version: 1
environments:
  production: { kind: production, urlEnv: PRODUCTION_DATABASE_URL }
backup:
  encryption: { recipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]${encryption} }
  destinations: [{ name: local, type: local, path: backups }]
`;

test('the age identity variable is needed only when no identity file is configured', () => {
  const names = (text: string) => {
    const { config, problems } = checkConfigText(text);
    assert.ok(config, JSON.stringify(problems));
    return missingVariables(config, {}).map((m) => m.name);
  };
  assert.ok(names(yaml('')).includes('PRODGUARD_AGE_IDENTITY'));
  assert.ok(!names(yaml(', identityFile: keys/backup.age')).includes('PRODGUARD_AGE_IDENTITY'));
});
