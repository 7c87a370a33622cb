/**
 * The demo (`prodguard demo`) is a story told in chapters against real local clusters: a
 * "production" and a "staging" PostgreSQL, seeded like a small SaaS. Each layer adds its chapter
 * in src/demo/chapters/<name>.ts and lists it in src/demo/chapters/index.ts.
 */
import type { Cluster } from '../pg/cluster.js';
import type { Context } from '../context.js';

export interface DemoContext {
  /** Temp project directory holding prodguard.yaml, supabase/ and migrations/. */
  projectDir: string;
  /** Context opened on the demo's prodguard.yaml. */
  ctx: Context;
  production: Cluster;
  staging: Cluster;
  /** Environment variables the demo config refers to (URLs, age identity, S3 keys…); also set in process.env. */
  env: Record<string, string>;
  /** Prints a line of the story. */
  say(line: string): void;
  /** Shows a command as if typed, e.g. `$ prodguard check 'supabase db reset --linked'`. */
  showCommand(cmd: string): void;
  /** Registers cleanup to run when the demo ends (servers started by a chapter, etc.). */
  onCleanup(fn: () => Promise<void> | void): void;
  /** True when the user passed --keep (leave clusters running). */
  keep: boolean;
  /**
   * Edits the demo's prodguard.yaml (as a plain object) and reloads `ctx` from it, e.g. to add
   * team members' public keys once a chapter has generated them.
   */
  updateConfig(mutate: (raw: Record<string, any>) => void): Promise<void>;
  /**
   * Where the demo's people keep their private keys: outside the project, as
   * ~/.config/prodguard/keys would be (the scorecard flags keys inside the repository).
   * Absent in unit tests of a single chapter.
   */
  keysDir?: string;
  /** What one chapter leaves for a later one (e.g. the running WAL stream, an open break-glass). */
  state?: Record<string, unknown>;
}

export interface DemoChapter {
  id: string;
  title: string;
  run(demo: DemoContext): Promise<void>;
}
