/**
 * The .gitignore section `prodguard init` writes. Deny by default inside .prodguard/: the state
 * store, the audit log, local backups, WAL and any key someone put there stay out of git; the
 * approvals (signed, they travel with the pull request) and the policy are the exceptions that
 * must be committed. Private keys anywhere in the tree are ignored too. The section sits between
 * markers so a second `init` replaces it instead of appending a copy.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const BEGIN = '# >>> prodguard >>> (written by prodguard init; edit outside these markers)';
const END = '# <<< prodguard <<<';

export const GITIGNORE_SECTION = [
  BEGIN,
  '# Local state, audit log, backups, WAL and keys never go into git.',
  '.prodguard/*',
  '# Approvals and the policy are committed: they travel with the pull request.',
  '!.prodguard/approvals/',
  '!.prodguard/policy*',
  '*.ed25519.key',
  END,
].join('\n');

/** A line that ignores the whole .prodguard directory: no rule after it can bring the approvals back. */
const WHOLE_DIR = /^\/?\.prodguard(?:\/|\/\*\*)?\s*$/;

/**
 * Writes or refreshes the prodguard section of `<dir>/.gitignore`; returns the file and the lines
 * it had to comment out (an earlier `.prodguard/` line hides the approvals, whatever follows it).
 */
export function ensureGitignore(dir: string): string {
  return ensureGitignoreSection(dir).file;
}

export function ensureGitignoreSection(dir: string): { file: string; disabled: string[] } {
  const file = join(dir, '.gitignore');
  const disabled: string[] = [];
  const original = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const old = original
    .split('\n')
    .map((line) => {
      if (!WHOLE_DIR.test(line.trim())) return line;
      disabled.push(line.trim());
      return `# ${line.trim()}   # disabled by prodguard init: it hid .prodguard/approvals, which must be committed`;
    })
    .join('\n');
  const start = old.indexOf(BEGIN);
  const end = old.indexOf(END, start);
  let text: string;
  if (start !== -1 && end !== -1) text = old.slice(0, start) + GITIGNORE_SECTION + old.slice(end + END.length);
  else text = (old && !old.endsWith('\n') ? old + '\n' : old) + (old ? '\n' : '') + GITIGNORE_SECTION + '\n';
  if (text !== original) writeFileSync(file, text);
  return { file, disabled };
}
