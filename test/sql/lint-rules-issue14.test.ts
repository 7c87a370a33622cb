/**
 * The rules added for issue #14, with their exact messages pinned (the generic rule test only
 * checks that bad examples fire and good ones do not).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lint } from '../../src/sql/index.js';
import { truncateIdentifier } from '../../src/sql/rules/identifier-too-long.js';

const messages = async (sql: string, rule: string, opts: Parameters<typeof lint>[1] = {}) =>
  (await lint(sql, opts)).filter((f) => f.ruleId === rule && !f.suppressed).map((f) => f.message);

describe('identifier-too-long', () => {
  it('names the identifier, its byte length and what PostgreSQL keeps', async () => {
    const name = 'orders_customer_id_created_at_status_shipping_country_region_warehouse_idx';
    assert.deepEqual(await messages(`CREATE INDEX ${name} ON orders (customer_id);`, 'identifier-too-long'), [
      `identifier "${name}" is ${name.length} bytes; PostgreSQL truncates it to 63: "${name.slice(0, 63)}"`,
    ]);
  });

  it('counts bytes, not characters, and cuts on a character boundary', async () => {
    const name = 'é'.repeat(32); // 64 bytes, 32 characters
    assert.deepEqual(await messages(`CREATE TABLE "${name}" (id bigint);`, 'identifier-too-long'), [`identifier "${name}" is 64 bytes; PostgreSQL truncates it to 63: "${'é'.repeat(31)}"`]);
    assert.equal(Buffer.byteLength(truncateIdentifier(name)), 62);
  });

  it('checks columns, constraints and renames; 63 bytes is fine', async () => {
    const c = 'c'.repeat(64);
    assert.equal((await messages(`ALTER TABLE t ADD COLUMN ${c} int;`, 'identifier-too-long')).length, 1);
    assert.equal((await messages(`ALTER TABLE t ADD CONSTRAINT ${c} CHECK (a > 0);`, 'identifier-too-long')).length, 1);
    assert.equal((await messages(`ALTER TABLE t RENAME TO ${c};`, 'identifier-too-long')).length, 1);
    assert.deepEqual(await messages(`CREATE TABLE ${'t'.repeat(63)} (id bigint);`, 'identifier-too-long'), []);
  });
});

describe('enum-value-not-at-end', () => {
  it('pins the message for BEFORE and AFTER', async () => {
    assert.deepEqual(await messages("ALTER TYPE order_status ADD VALUE 'refunded' BEFORE 'shipped';", 'enum-value-not-at-end'), [
      "enum value 'refunded' is added before 'shipped', not at the end of order_status: the order of existing values changes for every comparison and ORDER BY",
    ]);
    assert.deepEqual(await messages("ALTER TYPE order_status ADD VALUE 'on_hold' AFTER 'new';", 'enum-value-not-at-end'), [
      "enum value 'on_hold' is added after 'new', not at the end of order_status: the order of existing values changes for every comparison and ORDER BY",
    ]);
  });

  it('AFTER the last value of an enum created in the same file is at the end', async () => {
    assert.deepEqual(await messages("CREATE TYPE mood AS ENUM ('sad', 'ok');\nALTER TYPE mood ADD VALUE 'happy' AFTER 'ok';", 'enum-value-not-at-end'), []);
    assert.equal((await messages("CREATE TYPE mood AS ENUM ('sad', 'ok');\nALTER TYPE mood ADD VALUE 'meh' AFTER 'sad';", 'enum-value-not-at-end')).length, 1);
  });
});

describe('ban-alter-enum-add-value-in-transaction', () => {
  it('before PostgreSQL 12 any ADD VALUE in a transaction fails', async () => {
    assert.deepEqual(await messages("ALTER TYPE order_status ADD VALUE 'refunded';", 'ban-alter-enum-add-value-in-transaction', { postgresMajor: 11 }), [
      'ALTER TYPE order_status ADD VALUE cannot run inside a transaction block before PostgreSQL 12 (target: 11)',
    ]);
    assert.deepEqual(await messages("ALTER TYPE order_status ADD VALUE 'refunded';", 'ban-alter-enum-add-value-in-transaction', { postgresMajor: 11, runner: 'none' }), []);
  });

  it('from 12 on, only using the new value in the same transaction fails', async () => {
    const sql = "ALTER TYPE order_status ADD VALUE 'refunded';\nUPDATE orders SET status = 'refunded' WHERE refunded_at IS NOT NULL;";
    assert.deepEqual(await messages(sql, 'ban-alter-enum-add-value-in-transaction', { postgresMajor: 15 }), [
      "enum value 'refunded' added to order_status is used later in the same transaction (line 2); PostgreSQL refuses that until the ADD VALUE commits",
    ]);
    assert.deepEqual(await messages(sql.replace(';\n', ';\nCOMMIT;\n'), 'ban-alter-enum-add-value-in-transaction', { postgresMajor: 15 }), []);
    assert.deepEqual(await messages(sql, 'ban-alter-enum-add-value-in-transaction', { runner: 'none' }), []);
  });
});

describe('prefer-identity', () => {
  it('pins the message and the identity type for each serial', async () => {
    assert.deepEqual(await messages('CREATE TABLE orders (id bigserial PRIMARY KEY, n serial, s smallserial);', 'prefer-identity'), [
      'column id is bigserial; use bigint GENERATED ALWAYS AS IDENTITY',
      'column n is serial; use integer GENERATED ALWAYS AS IDENTITY',
      'column s is smallserial; use smallint GENERATED ALWAYS AS IDENTITY',
    ]);
    assert.deepEqual(await messages('CREATE TABLE orders (id bigint GENERATED BY DEFAULT AS IDENTITY);', 'prefer-identity'), []);
  });
});

describe('prefer-text-field', () => {
  it('pins the message; varchar without a length is text already', async () => {
    assert.deepEqual(await messages('CREATE TABLE users (email varchar(255), nick varchar, bio text);', 'prefer-text-field'), ['column email is varchar(n); use text with a CHECK on its length']);
    assert.deepEqual(await messages('ALTER TABLE users ALTER COLUMN email TYPE character varying(320);', 'prefer-text-field'), ['column email is varchar(n); use text with a CHECK on its length']);
  });
});
