/**
 * The SQL text of a gateway audit record, masked (gateway.maskLiterals) and serialised as JSON,
 * remembered per text: drivers and the extended protocol send the same statement text again and
 * again (pgbench -M prepared binds one text for every transaction), and the masking regex and
 * the JSON escaping are the same work each time. Bounded like the verdict cache; texts longer
 * than a shape-cache key are masked every time (they would make the memory unbounded).
 */
import { maskLiterals } from './judge.js';

const MAX_ENTRIES = 5000;
const MAX_TEXT = 4096;
const memo = new Map<string, string>();

/** JSON.stringify(maskLiterals(text)). */
export function maskedCommandJson(text: string): string {
  const hit = memo.get(text);
  if (hit !== undefined) return hit;
  const json = JSON.stringify(maskLiterals(text));
  if (text.length <= MAX_TEXT) {
    if (memo.size >= MAX_ENTRIES) memo.delete(memo.keys().next().value as string);
    memo.set(text, json);
  }
  return json;
}
