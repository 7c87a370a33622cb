/** Programs whose arguments are data, never code (shared by the fast path and the mention check). */
export const DATA_ONLY = new Set([
  'echo', 'printf', 'cat', 'grep', 'egrep', 'fgrep', 'rg', 'ag', 'ack', 'head', 'tail', 'wc', 'ls', 'less', 'more', 'diff', 'cmp', 'sort', 'uniq', 'cut', 'tr',
  'tee', 'touch', 'mkdir', 'rmdir', 'cp', 'mv', 'rm', 'ln', 'chmod', 'chown', 'stat', 'file', 'du', 'df', 'pwd', 'cd', 'which', 'type', 'whoami', 'id', 'date',
  'sleep', 'true', 'false', 'test', '[', 'basename', 'dirname', 'realpath', 'readlink', 'jq', 'yq', 'base64', 'md5sum', 'sha256sum', 'sha1sum', 'tar', 'gzip',
  'gunzip', 'zip', 'unzip', 'code', 'vim', 'vi', 'nano', 'emacs', 'man', 'tree', 'column', 'nl', 'fold', 'paste', 'join', 'comm', 'tac', 'rev', 'od', 'xxd',
  'hexdump', 'strings', 'export', 'set', 'unset', 'shift', 'local', 'return', 'exit', ':', 'history', 'kill', 'ps', 'top', 'lsof', 'ping', 'dig', 'nslookup',
  'host', 'read', 'declare', 'sed', 'nvm', 'direnv', 'pytest', 'vitest', 'jest', 'eslint', 'prettier', 'tsc', 'squawk', 'ssh-agent', 'ssh-add', 'typeset', 'readonly', 'wait', 'jobs', 'fg', 'bg', 'cowsay', 'git', 'gh', 'pg_dump', 'pg_dumpall', 'pg_isready',
  'pg_config', 'initdb', 'mktemp', 'seq', 'yes', 'clear', 'tput', 'stty', 'open', 'xdg-open', 'pbcopy', 'pbpaste', 'mapfile', 'readarray', 'let', 'hash',
]);
