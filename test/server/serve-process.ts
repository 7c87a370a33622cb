/** Starts `prodguard serve` as a real child process and waits until it listens. */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, TSX } from '../helpers/cli.js';

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  log(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startServeProcess(cwd: string, env: Record<string, string | undefined>, args: string[] = []): Promise<ServeProcess> {
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) merged[k] = v;
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'serve', '--port', '0', ...args], { cwd, env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 60 s:\n${log}`)), 60_000);
    const onData = (d: string) => {
      log += d;
      const m = /dashboard at (http:\/\/[^\s]+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1], child, log: () => log,
          stop: async (signal = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stderr!.setEncoding('utf8').on('data', onData);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening:\n${log}`));
    });
  });
}
