/**
 * Every command group, in the order `prodguard --help` lists them. Each file registers its
 * commands and options and imports its layer lazily inside actions.
 */
import type { Command } from 'commander';
import { registerInit } from './init.js';
import { registerConfig } from './config.js';
import { registerStatus } from './status.js';
import { registerAudit } from './audit.js';
import { registerDemo } from './demo.js';
import { registerLint } from './lint.js';
import { registerGuard } from './guard.js';
import { registerBackup } from './backup.js';
import { registerRestore } from './restore.js';
import { registerMigrate } from './migrate.js';
import { registerServe } from './serve.js';
import { registerDoctor } from './doctor.js';
import { registerGateway, registerGrants, registerMcp } from './gateway.js';
import { registerLockdown } from './lockdown.js';
import { registerPolicy } from './policy.js';
import { registerEnv } from './env.js';
import { registerEmergency, registerRunbookAndIncident } from './emergency.js';
import { registerInitCi } from './init-ci.js';
import { registerShadow } from './shadow.js';

export const commandGroups: Array<(program: Command) => void> = [
  registerInit,
  registerStatus,
  registerGuard,
  registerLint,
  registerBackup,
  registerRestore,
  registerMigrate,
  registerAudit,
  registerConfig,
  registerDemo,
  registerServe,
  registerDoctor,
  registerGateway,
  registerGrants,
  registerLockdown,
  registerMcp,
  registerPolicy,
  registerEnv,
  registerEmergency,
  registerRunbookAndIncident,
  registerInitCi,
  registerShadow,
];
