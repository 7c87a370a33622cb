/**
 * The allow decision that needs no parse and no config: a plain command line (no quoting,
 * expansion or operators) whose program never runs its arguments and writes nothing the guard
 * protects (`ls -la`, `git status`, `cat README.md`). Kept free of heavy imports so the hook can
 * answer it before loading the config, the shell parser or the rules.
 */
import { toolName } from './wrappers/words.js';
import { DATA_ONLY } from './data-only.js';

/** Data-only programs that still need a look: they write files, or have options that run commands. */
const NEEDS_LOOK = new Set(['rm', 'mv', 'cp', 'tee', 'touch', 'chmod', 'chown', 'ln', 'install', 'sed', 'tar', 'rg', 'vim', 'vi', 'nvim', 'ex', 'view', 'emacs', 'hash', 'find', 'truncate', 'export', 'declare', 'typeset', 'readonly', 'local', 'set', 'unset', 'read', 'mapfile', 'readarray', 'let', 'sqlite3', 'yq']);
const EXEC_VAR_PREFIX = /^(GIT_SSH_COMMAND|GIT_SSH|GIT_EXTERNAL_DIFF|GIT_EDITOR|GIT_SEQUENCE_EDITOR|GIT_PAGER|GIT_ASKPASS|SSH_ASKPASS|EDITOR|VISUAL|PAGER|MANPAGER|SYSTEMD_PAGER|BROWSER|PSQL_PAGER|PSQL_EDITOR|LESSOPEN|BASH_ENV|ENV|PROMPT_COMMAND|LD_PRELOAD|NODE_OPTIONS|PYTHONSTARTUP|PERL5OPT|RUBYOPT|PATH)=/;

export function fastAllow(command: string): boolean {
  if (!/^[A-Za-z0-9 _./:=@%+,-]*$/.test(command)) return false;
  const words = command.split(' ').filter(Boolean);
  let i = 0;
  while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i])) {
    if (EXEC_VAR_PREFIX.test(words[i])) return false;
    i++;
  }
  if (i >= words.length) return i === 0;
  if (words[i].includes('/')) return false;
  const name = toolName(words[i]);
  // git runs nothing of ours unless configured on the command line or told to run/skip something.
  if (name === 'git') return !words.some((w) => w === '-c' || w.startsWith('--config') || /^(bisect|rebase|submodule|difftool|mergetool|rm|mv|checkout|restore|clean|filter-branch|filter-repo)$|--no-verify|--exec/.test(w));
  return DATA_ONLY.has(name) && !NEEDS_LOOK.has(name);
}
