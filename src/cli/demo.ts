import type { Command } from 'commander';
import { collect } from './common.js';
import { RefusedError } from '../errors.js';
import { jsonOption } from './options.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the guided demo on two throw-away local clusters (production + staging); cleans up unless --keep')
    .option('--keep', 'leave the clusters and the demo project in place and print how to connect')
    .option('--chapter <id>', 'run only this chapter (repeatable); ids: guard, backup, sql-lint, migrate, access, emergency, recovery, audit', collect, [])
    .option('--no-pause', 'do not wait for Enter between chapters (it only ever waits on a terminal)')
    .addOption(jsonOption('print the result as JSON on stdout (the story goes to stderr)'))
    .action(async (opts: { keep?: boolean; chapter: string[]; json?: boolean; pause: boolean }) => {
      const { runDemo } = await import('../demo/run.js');
      const write = opts.json ? (l: string) => process.stderr.write(l + '\n') : undefined;
      const result = await runDemo({ keep: opts.keep, only: opts.chapter, write, pause: opts.pause });
      if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      const failed = result.chapters.filter((c) => !c.ok);
      if (failed.length) throw new RefusedError(`demo chapter(s) failed: ${failed.map((c) => c.id).join(', ')}`, 'demo.failed');
    });
}
