/**
 * Writes docs/configuration.md from the zod schema (via its JSON Schema), so the reference can
 * never drift from what `config check` enforces. `npm run docs`; test/foundation/docs.test.ts
 * fails when the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from '../src/config/schema.js';

type S = Record<string, any>;

function typeOf(s: S, root: S): string {
  if (s.$ref) return typeOf(resolveRef(s.$ref, root), root);
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v: unknown) => JSON.stringify(v)).join(' \\| ');
  if (s.anyOf || s.oneOf) return (s.anyOf ?? s.oneOf).map((x: S) => typeOf(x, root)).join(' \\| ');
  if (s.type === 'array') {
    // "list of (object | object)": without the parentheses it read as "a list, or an object" (red team w5c-007).
    const item = s.items ? typeOf(s.items, root) : 'any';
    return `list of ${item.includes('\\|') ? `(${item})` : item}`;
  }
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object' && !s.properties) return 'map of name → object';
  if (s.pattern && s.type === 'string') return 'string';
  return Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
}

function resolveRef(ref: string, root: S): S {
  return ref.replace(/^#\//, '').split('/').reduce((o: S, k) => o[k], root);
}

function rows(s: S, prefix: string, root: S, out: string[][]) {
  if (s.$ref) s = resolveRef(s.$ref, root);
  const props: S = s.properties ?? {};
  const required: string[] = s.required ?? [];
  for (const [key, raw] of Object.entries(props)) {
    let child = raw as S;
    if (child.$ref) child = resolveRef(child.$ref, root);
    const path = prefix ? `${prefix}.${key}` : key;
    const def = child.default !== undefined ? '`' + JSON.stringify(child.default) + '`' : required.includes(key) ? '**required**' : '';
    out.push([`\`${path}\``, typeOf(child, root), def, (child.description ?? '').replace(/\|/g, '\\|')]);
    if (child.type === 'object' && child.properties) rows(child, path, root, out);
    if (child.type === 'object' && child.additionalProperties && typeof child.additionalProperties === 'object') rows(child.additionalProperties, `${path}.<name>`, root, out);
    if (child.type === 'array' && child.items) {
      const item = child.items.$ref ? resolveRef(child.items.$ref, root) : child.items;
      if (item.properties) rows(item, `${path}[]`, root, out);
      for (const alt of item.anyOf ?? item.oneOf ?? []) {
        const a = alt.$ref ? resolveRef(alt.$ref, root) : alt;
        if (a.properties) rows(a, `${path}[] (type: ${a.properties.type?.const ?? '?'})`, root, out);
      }
    }
  }
}

export function configDocs(): string {
  const schema = configJsonSchema() as S;
  const out: string[][] = [];
  rows(schema, '', schema, out);
  return [
    '# Configuration reference (prodguard.yaml)',
    '',
    'Generated from the zod schema in `src/config/schema.ts` by `npm run docs` — the same schema validates the file (`prodguard config check`) and is printed as JSON Schema by `prodguard config schema` (point your editor at it with `# yaml-language-server: $schema=./prodguard.schema.json`, which `prodguard init` writes).',
    '',
    'Connections are never literal: each environment names an environment variable (`urlEnv`) or a file (`urlFile`) holding the URL. Durations are written like `500ms`, `5s`, `2min`, `4h`, `7d`.',
    '',
    '| key | type | default | description |',
    '|---|---|---|---|',
    ...out.map((r) => `| ${r.join(' | ')} |`),
    '',
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'configuration.md');
  writeFileSync(target, configDocs());
  console.log(`wrote ${target}`);
}
