/** Running a file as a program (`./reset.sh`, `bin/nuke`, a file written earlier on the line). */
import { UNKNOWN_CONTENT } from '../shell.js';
import { OPAQUE_ARG } from '../rules/types.js';
import { SHELL_NAMES } from './shell.js';
import { toolName } from './words.js';
import { DANGER_HINT } from './hints.js';
import { fileText, writtenFile, type Unwrapped, type WrapCtx, type Wrapper } from './types.js';

const PKG_TOOL_ALIASES: Record<string, string> = { 'sequelize-cli': 'sequelize', 'supabase-cli': 'supabase', '@prisma/cli': 'prisma' };

/** The rule's name for a package binary (`sequelize-cli` is `sequelize`). */
export function toolAlias(name: string): string {
  return PKG_TOOL_ALIASES[name] ?? name;
}

export const wrapper: Wrapper = {
  family: 'script-file',
  names: [],
  matches(c) {
    if (!(c.w0.includes('/') || writtenFile(c.files, c.w0) !== undefined) || ['rails', 'rake', 'manage.py'].includes(toolAlias(c.name))) return false;
    return writtenFile(c.files, c.w0) !== undefined || (fileText(c, c.w0)) !== null;
  },
  examples: [
    { command: './scripts/reset-prod.sh', yields: 'script script ./scripts/reset-prod.sh' },
    { command: 'printf "dropdb app" > x.sh; ./x.sh', yields: 'script script ./x.sh' },
  ],
  unwrap(c) {
    return { done: [scriptFile(c, c.w0, 'exec')] };
  },
};

export function scriptFile(c: WrapCtx, file: string, how: string): Unwrapped {
  const { steps, scope: sc, env } = c;
  if (file === OPAQUE_ARG) return { kind: 'opaque', why: `${how} runs a script named by ${c.opaque[0] ?? 'an expansion'}`, steps, scope: sc, env, dbHint: true };
  const text = fileText(c, file);
  if (text === null) return { kind: 'opaque', why: `${how} runs ${file}, which does not exist yet or cannot be read`, steps, scope: sc, env, dbHint: /^\/(dev|proc)\/|db|migrat|reset|drop|seed|restore|psql|supabase/i.test(file) };
  if (text.includes(UNKNOWN_CONTENT)) return { kind: 'opaque', why: `${file} is written on this command line with content the guard cannot see`, steps, scope: sc, env, dbHint: true };
  const shebang = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(text) ?? (/\.py$/.test(file) ? ['', 'python3'] : /\.(c?js|mjs|ts)$/.test(file) ? ['', 'node'] : /\.rb$/.test(file) ? ['', 'ruby'] : null);
  const interp = shebang ? toolName(shebang[1] === '/usr/bin/env' || shebang[1].endsWith('/env') ? shebang[2] ?? '' : shebang[1]) : 'sh';
  if (shebang && !SHELL_NAMES.has(interp)) {
    if (DANGER_HINT.test(text)) return { kind: 'opaque', why: `${file} (${interp}) contains ${DANGER_HINT.exec(text)?.[0]}, which the guard cannot follow`, steps, scope: sc, env, dbHint: true };
    return { kind: 'none', steps };
  }
  steps[steps.length - 1].via = `script ${file}`;
  return { kind: 'script', text, env, steps, scope: sc, label: `script ${file}` };
}
