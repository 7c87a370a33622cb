/**
 * Progress for humans on stderr: a cli-progress bar with bytes and rate on a TTY, one quiet line
 * per phase otherwise (logs, CI). Never on stdout, which stays parseable for --json.
 */
import cliProgress from 'cli-progress';

export interface ProgressReporter {
  phase(name: string): void;
  bytes(total: number): void;
  stop(): void;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function progressReporter(opts: { tty?: boolean; quiet?: boolean; label: string }): ProgressReporter {
  const tty = opts.tty ?? !!process.stderr.isTTY;
  if (opts.quiet) return { phase() {}, bytes() {}, stop() {} };
  if (!tty) {
    const started = Date.now();
    let last = 0;
    return {
      phase: (name) => process.stderr.write(`${opts.label}: ${name}\n`),
      bytes: (total) => (last = total),
      stop: () => {
        if (last) process.stderr.write(`${opts.label}: ${formatBytes(last)} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      },
    };
  }
  const started = Date.now();
  let currentPhase = 'starting';
  const bar = new cliProgress.SingleBar(
    {
      format: `${opts.label} {phase} | {written} | {rate}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(0, 0, { phase: currentPhase, written: '0 B', rate: '' });
  return {
    phase(name) {
      currentPhase = name;
      bar.update({ phase: name });
    },
    bytes(total) {
      const secs = Math.max(0.001, (Date.now() - started) / 1000);
      bar.update({ phase: currentPhase, written: formatBytes(total), rate: `${formatBytes(total / secs)}/s` });
    },
    stop() {
      bar.stop();
    },
  };
}
