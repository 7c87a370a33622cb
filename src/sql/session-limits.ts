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

/** A time value's magnitude without its unit ('0', '0ms', '0s' → 0), or undefined. */
function timeNumber(value: string | number): number | undefined {
  if (typeof value === 'number') return value;
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$/i.exec(value);
  return m ? Number(m[1]) : undefined;
}

/**
 * Why setting `name` to `value` removes a safety limit, or undefined when it does not.
 * `value` undefined means SET … TO DEFAULT / RESET, which restores the configured limit: fine.
 */
export function safetyLimitViolation(name: string, value: string | number | undefined, caps: SessionLimitCaps = DEFAULT_SESSION_LIMIT_CAPS): string | undefined {
  const n = name.toLowerCase();
  if (value === undefined) return undefined;
  if (TIMEOUTS.has(n)) {
    const t = timeNumber(value);
    if (t === undefined) return `${n} = ${JSON.stringify(value)} cannot be read, so it counts as removing the limit`;
    return t <= 0 ? `${n} = ${value} removes the time limit, so one statement can hold locks and connections forever` : undefined;
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
