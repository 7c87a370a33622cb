/** make: reads the Makefile (targets with their prerequisites, variables, -C, -f) and runs the recipes. */
import { none, opaque, script, via, type Wrapper } from './types.js';

export const wrapper: Wrapper = {
  family: 'make',
  names: ['make', 'gmake'],
  examples: [
    { command: 'make reset-prod', yields: 'script make reset-prod' },
    { command: 'make no-such-target', yields: 'opaque' },
    { command: 'make -n reset-prod', yields: 'none' },
  ],
  unwrap(c) {
    const { args, env } = c;
    let makefile: string | undefined;
    let dir = c.scope.cwd;
    const targets: string[] = [];
    // -n/--dry-run/--just-print/--recon print the recipes without running them.
    if (args.some((a) => /^--(dry-run|just-print|recon)$/.test(a) || /^-[a-zA-Z]*n[a-zA-Z]*$/.test(a))) return none(c);
    if (args.some((a) => a.startsWith('--eval'))) return opaque(c, 'make --eval defines rules the guard does not read');
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if ((a === '-f' || a === '--file' || a === '--makefile') && /^(-|\/dev\/stdin|\/dev\/fd\/\d+|\/proc\/self\/fd\/\d+)$/.test(args[i + 1] ?? '')) return opaque(c, 'make reads its Makefile from stdin');
      if (a === '-f' || a === '--file' || a === '--makefile') makefile = args[++i];
      else if (a === '-C' || a === '--directory') dir = resolvePath(dir, args[++i]);
      else if (/^-[jlIoW]$/.test(a)) i++;
      else if (a.startsWith('-')) continue;
      else if (a.includes('=')) env[a.slice(0, a.indexOf('='))] = a.slice(a.indexOf('=') + 1);
      else targets.push(a);
    }
    const s2 = { ...c.scope, cwd: dir };
    const lines: string[] = [];
    for (const t of targets.length ? targets : [null]) {
      const r = c.deps.makeRecipe(s2, t, makefile);
      if (r === null) {
        c.scope = s2;
        return opaque(c, `make target ${t ?? '(default)'} not found in ${makefile ?? 'Makefile'}`, /db|migrat|reset|seed|drop/i.test(t ?? ''));
      }
      lines.push(...r);
    }
    via(c, `make ${targets.join(' ')}`.trim());
    return script(c, lines.join('\n'), `make ${targets.join(' ') || '(default target)'}`, { scope: s2 });
  },
};

function resolvePath(base: string, p: string | undefined): string {
  if (!p) return base;
  return p.startsWith('/') ? p : `${base}/${p}`;
}
