/** How program names and words are written: the name a rule knows a tool by, and shell quoting for messages. */
import { basename } from 'node:path';

/** Tool name as invoked: basename, without @version (npx supabase@latest), without .exe. */
export function toolName(word: string): string {
  let w = basename(word);
  if (word.startsWith('@')) w = word.replace(/^@[^/]+\//, '');
  w = w.replace(/@[^@/]*$/, '').replace(/\.exe$/i, '');
  if (/^python\d[\d.]*$/.test(w)) return 'python3';
  return w;
}

export { shellQuote } from '../../os/shell-quote.js';
