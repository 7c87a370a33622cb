import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO } from '../helpers/cli.js';
import { ServerMetrics } from '../../src/server/metrics.js';

const exported = new Set(new ServerMetrics().registry.getMetricsAsArray().map((m) => m.name));
const used = (text: string) => [...new Set([...text.matchAll(/\bprodguard_[a-z_]+/g)].map((m) => m[0]))];

test('every metric the sample alert rules use is one /metrics exports, and the 26 h rule exists', () => {
  const text = readFileSync(join(REPO, 'docs/monitoring/alerts.yml'), 'utf8');
  const doc = parse(text) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  const rules = doc.groups.flatMap((g) => g.rules);
  assert.ok(rules.some((r) => r.expr.includes('prodguard_last_verified_backup_timestamp_seconds > 26 * 3600')));
  for (const name of used(rules.map((r) => r.expr).join('\n'))) assert.ok(exported.has(name), `${name} is not exported`);
});

test('every metric the sample Grafana dashboard queries is one /metrics exports', () => {
  const dash = JSON.parse(readFileSync(join(REPO, 'docs/monitoring/grafana-dashboard.json'), 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
  const names = used(dash.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n'));
  assert.ok(names.length >= 8);
  for (const name of names) assert.ok(exported.has(name), `${name} is not exported`);
});
