/**
 * The pinned lint messages (test/sql/fixtures/rule-messages.json): for every rule, each bad
 * example's findings of that rule as `line:column message`. lint-rules.test.ts lints every example
 * once and checks its findings against this snapshot; lint-messages.test.ts checks the snapshot
 * covers exactly the rules and examples there are. A changed message is a reviewed change:
 * regenerate with `PRODGUARD_UPDATE_SNAPSHOT=1 node scripts/test.mjs lint-rules` and read the diff.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LintFinding } from '../../src/sql/index.js';

export type PinnedMessages = Record<string, Record<string, string[]>>;

export const MESSAGES_FILE = join(import.meta.dirname, 'fixtures', 'rule-messages.json');
export const UPDATE_SNAPSHOT = process.env.PRODGUARD_UPDATE_SNAPSHOT === '1';

export function pinnedMessages(): PinnedMessages {
  return JSON.parse(readFileSync(MESSAGES_FILE, 'utf8')) as PinnedMessages;
}

/** A finding as the snapshot pins it. */
export function messageLine(f: Pick<LintFinding, 'line' | 'column' | 'message'>): string {
  return `${f.line}:${f.column} ${f.message}`;
}

/** Writes the snapshot, rules in id order (the file's order since it was first written). */
export function writePinnedMessages(now: PinnedMessages): void {
  const sorted = Object.fromEntries(Object.keys(now).sort((a, b) => a.localeCompare(b)).map((id) => [id, now[id]]));
  writeFileSync(MESSAGES_FILE, JSON.stringify(sorted, null, 2) + '\n');
}
