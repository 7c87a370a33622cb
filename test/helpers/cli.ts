/**
 * Running the real CLI in a child process, as a user would. Uses the TypeScript sources through
 * tsx so tests never run a stale build.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(REPO, 'src/cli/main.ts');
/** tsx's loader by absolute URL: tests run the CLI from temp project dirs outside the repo. */
export const TSX = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string | undefined>; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, ...opts.env })) if (v !== undefined) env[k] = v;
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
      cwd: opts.cwd ?? REPO,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A throw-away project directory with the given files (paths relative to it). */
export function makeProject(files: Record<string, string> = {}): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-test-project-'));
  for (const [rel, content] of Object.entries(files)) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A minimal valid prodguard.yaml pointing at the given URL variables. */
export function minimalConfig(extra = ''): string {
  return `version: 1
project:
  name: acme
environments:
  local:
    kind: local
    urlEnv: LOCAL_DATABASE_URL
  staging:
    kind: staging
    urlEnv: STAGING_DATABASE_URL
  production:
    kind: production
    urlEnv: PRODUCTION_DATABASE_URL
${extra}`;
}
