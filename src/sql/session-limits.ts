/**
 * Session settings that remove a safety limit: `statement_timeout = 0`, `lock_timeout = 0`,
 * `idle_in_transaction_session_timeout = 0`, `temp_file_limit = -1`, or a memory setting far
 * above the cap. Such a SET changes no data, but it lets one query hold locks forever or eat the
 * server's memory, so the guard (through the classifier) and the gateway refuse it. One function,
 * callable with a setting's name and value as PostgreSQL would receive them (SET, set_config,
 * startup options), so every door judges the same way.
 */

export interface SessionLimitCaps {
  /** Largest accepted value of a per-operation memory setting (work_mem, maintenance_work_mem, …), in bytes. */
  maxMemoryBytes: number;
}

/** 1 GiB: ample for any interactive or maintenance query; a SET above it is a mistake or an attack. */
export const DEFAULT_SESSION_LIMIT_CAPS: SessionLimitCaps = { maxMemoryBytes: 1024 ** 3 };

/** Timeouts where 0 (or a negative number) means "no limit". */
const TIMEOUTS = new Set(['statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'transaction_timeout']);

/** Memory settings and the size of their unit when given as a bare number (PostgreSQL's own units). */
const MEMORY_UNIT_BYTES: Record<string, number> = {
  work_mem: 1024,
  maintenance_work_mem: 1024,
  logical_decoding_work_mem: 1024,
  autovacuum_work_mem: 1024,
  temp_buffers: 8192,
};

const UNIT: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };

/** Bytes of a memory value ('64GB', '512kB', 100000), or undefined when it cannot be read. */
export function memoryBytes(value: string | number, unitBytes: number): number | undefined {
  if (typeof value === 'number') return value * unitBytes;
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (!m[2]) return n * unitBytes;
  const u = UNIT[m[2].toLowerCase()];
  return u === undefined ? undefined : n * u;
}

/** Milliseconds per unit of a time value (PostgreSQL's units; the timeouts' base unit is ms). */
const TIME_UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A timeout in milliseconds as PostgreSQL will store it, or undefined when it cannot be read.
 * PostgreSQL rounds a fractional value to the nearest whole base unit (ms), so `0.1`, `'0.4ms'`
 * or `'400us'` become 0 — "no limit" (red-team gw-060..066, gw-333, gw-335).
 */
function timeoutMs(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.round(value) : undefined;
  const m = /^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = m[2] ? TIME_UNIT_MS[m[2]] : 1;
  if (unit === undefined) return undefined;
  const ms = Number(m[1]) * unit;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** A timeout above this is no limit in practice (2147483647 ms is 24 days). */
export const MAX_TIMEOUT_MS = 24 * 3_600_000;

/** Legacy names PostgreSQL still accepts for a setting (guc.c map_old_guc_names). */
const ALIASES: Record<string, string> = { sort_mem: 'work_mem', vacuum_mem: 'maintenance_work_mem' };

/** hash_mem_multiplier multiplies work_mem for hash tables; above this it defeats the memory cap. */
const MAX_HASH_MEM_MULTIPLIER = 16;

/**
 * Why setting `name` to `value` removes a safety limit, or undefined when it does not.
 * `value` undefined means SET … TO DEFAULT / RESET, which restores the configured limit: fine.
 */
export function safetyLimitViolation(name: string, value: string | number | undefined, caps: SessionLimitCaps = DEFAULT_SESSION_LIMIT_CAPS): string | undefined {
  const lower = name.toLowerCase();
  const n = ALIASES[lower] ?? lower;
  if (value === undefined) return undefined;
  if (TIMEOUTS.has(n)) {
    const t = timeoutMs(value);
    if (t === undefined) return `${n} = ${JSON.stringify(value)} cannot be read, so it counts as removing the limit`;
    if (t <= 0) return `${n} = ${value} removes the time limit (PostgreSQL rounds it to ${t} ms), so one statement can hold locks and connections forever`;
    return t > MAX_TIMEOUT_MS ? `${n} = ${value} is above ${MAX_TIMEOUT_MS / 3_600_000} h, which is no limit in practice` : undefined;
  }
  if (n === 'hash_mem_multiplier') {
    const x = typeof value === 'number' ? value : Number(value);
    return !Number.isFinite(x) || x > MAX_HASH_MEM_MULTIPLIER ? `hash_mem_multiplier = ${value} multiplies work_mem past the memory cap (at most ${MAX_HASH_MEM_MULTIPLIER})` : undefined;
  }
  if (n === 'temp_file_limit') {
    const b = memoryBytes(value, 1024);
    return b === undefined || b < 0 ? `temp_file_limit = ${value} removes the limit on temporary files (a query can fill the disk)` : undefined;
  }
  const unit = MEMORY_UNIT_BYTES[n];
  if (unit !== undefined) {
    const b = memoryBytes(value, unit);
    if (b === undefined) return `${n} = ${JSON.stringify(value)} cannot be read, so it counts as above the memory cap`;
    if (b > caps.maxMemoryBytes) return `${n} = ${value} is above the cap of ${caps.maxMemoryBytes / 1024 ** 2} MB per operation (the server can run out of memory)`;
  }
  return undefined;
}
