/** Every built-in guard rule; `prodguard rules`, the docs and the example tests read this list. */
import type { GuardRule } from './types.js';
import { rules as supabase } from './supabase.js';
import { rule as psql } from './psql.js';
import { rule as dropdb } from './dropdb.js';
import { rule as pgRestore } from './pg-restore.js';
import { rule as pgCtl } from './pg-ctl.js';
import { rule as prisma } from './prisma.js';
import { rule as drizzle } from './drizzle-kit.js';
import { rule as nodeMigrators } from './node-migrators.js';
import { rule as rails } from './rails.js';
import { rule as django } from './django.js';
import { rule as sqlMigrators } from './sql-migrators.js';
import { rule as rmDataDir } from './rm-data-dir.js';
import { rule as dbClients } from './db-clients.js';
import { rule as httpApi } from './http-api.js';
import { rule as driverScript } from './driver-script.js';
import { rule as frameworks } from './frameworks.js';
import { rule as prodguardSelf } from './prodguard-self.js';

export const guardRules: GuardRule[] = [...supabase, psql, dropdb, pgRestore, pgCtl, prisma, drizzle, nodeMigrators, rails, django, sqlMigrators, rmDataDir, dbClients, httpApi, driverScript, frameworks, prodguardSelf];

const byTool = new Map<string, GuardRule[]>();
for (const r of guardRules) for (const t of r.tools) byTool.set(t, [...(byTool.get(t) ?? []), r]);

/** Every rule that looks at a tool (the supabase CLI has one per operation). */
export function rulesForTool(tool: string): GuardRule[] {
  return byTool.get(tool) ?? [];
}

/** The first rule for a tool (kept for callers of the one-rule-per-tool API). */
export function ruleForTool(tool: string): GuardRule | undefined {
  return byTool.get(tool)?.[0];
}

export function knownTools(): string[] {
  return [...byTool.keys()];
}
export type { GuardRule } from './types.js';
