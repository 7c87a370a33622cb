/**
 * A DemoContext over a test project, for running one demo chapter on its own (the full demo is
 * covered by test/demo/demo.test.ts). Collects the story lines; the caller runs the cleanups.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { openContext, type Context } from '../../src/context.js';
import type { Cluster } from '../../src/pg/cluster.js';
import type { DemoContext } from '../../src/demo/types.js';

export interface StandInDemo {
  demo: DemoContext;
  lines: string[];
  cleanups: Array<() => Promise<void> | void>;
  /** The current context (updateConfig replaces it). */
  ctx(): Context;
}

export function standInDemo(opts: { projectDir: string; production: Cluster; staging?: Cluster; env: Record<string, string> }): StandInDemo {
  const lines: string[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];
  let ctx: Context = openContext({ cwd: opts.projectDir });
  const demo: DemoContext = {
    projectDir: opts.projectDir,
    get ctx() {
      return ctx;
    },
    production: opts.production,
    staging: opts.staging ?? opts.production,
    env: opts.env,
    say: (l) => lines.push(l),
    showCommand: (c) => lines.push(`$ ${c}`),
    onCleanup: (fn) => cleanups.push(fn),
    keep: false,
    async updateConfig(mutate) {
      const file = join(opts.projectDir, 'prodguard.yaml');
      const raw = parse(readFileSync(file, 'utf8')) as Record<string, any>;
      mutate(raw);
      writeFileSync(file, stringify(raw));
      await ctx.close();
      ctx = openContext({ cwd: opts.projectDir });
    },
  };
  return { demo, lines, cleanups, ctx: () => ctx };
}
