/**
 * POSIX shell quoting, one home: a word of safe characters as is, anything else in single quotes
 * (a quote inside becomes '\''). Used for messages that show a command and for commands
 * PostgreSQL runs through /bin/sh (archive_command).
 */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
