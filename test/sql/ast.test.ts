/**
 * The typed parse tree (src/sql/ast.ts): the unwrapping helpers keep the exact semantics of
 * reading the JSON by key, and the shapes the code relies on where @pgsql/types could be doubted
 * are what libpg-query really returns. A libpg-query upgrade that changed one of these shapes
 * would fail here, not silently make a verdict wrong.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { asNode, nodeKind, nodesOf, unwrap, type Node, type PlpgsqlTree } from '../../src/sql/ast.js';
import { loadSqlParser, parsePlPgSQLSync, parseStatements, type ParsedStatement } from '../../src/sql/parser.js';

before(loadSqlParser);

/** The only statement of `sql`, checked to be of `kind`. */
function one<K extends ParsedStatement['kind']>(sql: string, kind: K): Extract<ParsedStatement, { kind: K }> {
  const stmts = parseStatements(sql);
  assert.equal(stmts.length, 1);
  assert.equal(stmts[0].kind, kind);
  return stmts[0] as Extract<ParsedStatement, { kind: K }>;
}

describe('ast helpers', () => {
  it('asNode reads a wrapped node by its type name, like n?.[kind]: an empty node is {}, another type or nothing is undefined', () => {
    const zero: Node = { Integer: {} };
    assert.deepEqual(asNode(zero, 'Integer'), {});
    assert.equal(asNode(zero, 'String'), undefined);
    assert.equal(asNode(undefined, 'Integer'), undefined);
    assert.equal(asNode({ String: { sval: 'x' } }, 'String')?.sval, 'x');
  });

  it('nodesOf keeps the nodes of one type, in order', () => {
    const list: Node[] = [{ String: { sval: 'a' } }, { Integer: { ival: 1 } }, { String: { sval: 'b' } }];
    assert.deepEqual(nodesOf(list, 'String').map((s) => s.sval), ['a', 'b']);
    assert.deepEqual(nodesOf(undefined, 'String'), []);
  });

  it('unwrap and nodeKind give the type name and the fields', () => {
    const n: Node = { RangeVar: { relname: 't' } };
    assert.equal(nodeKind(n), 'RangeVar');
    const t = unwrap(n);
    assert.equal(t.kind, 'RangeVar');
    assert.equal(t.kind === 'RangeVar' ? t.node.relname : undefined, 't');
  });

  it('a parsed statement carries its kind and its fields, the same object the parser returned under that key', () => {
    const s = one('DROP TABLE a.b CASCADE', 'DropStmt');
    assert.equal(s.node.removeType, 'OBJECT_TABLE');
    assert.equal(s.node.behavior, 'DROP_CASCADE');
  });
});

describe('libpg-query returns the shapes the typed code reads', () => {
  it('fields typed with a concrete node type hold the fields bare (no wrapper)', () => {
    assert.equal(one('ALTER DATABASE d SET role = x', 'AlterDatabaseSetStmt').node.setstmt?.name, 'role');
    assert.equal(one('ALTER SYSTEM SET work_mem = 1', 'AlterSystemStmt').node.setstmt?.name, 'work_mem');
    assert.equal(one('ALTER ROLE r WITH LOGIN', 'AlterRoleStmt').node.role?.rolename, 'r');
    assert.equal(one('CREATE ROLE r2', 'CreateRoleStmt').node.role, 'r2');
    assert.equal(asNode(one('CALL f(1)', 'CallStmt').node.funccall?.funcname?.[0], 'String')?.sval, 'f');
    assert.equal(one('INSERT INTO s.t VALUES (1)', 'InsertStmt').node.relation?.relname, 't');
    assert.equal(one('CREATE TEMP TABLE x AS SELECT 1', 'CreateTableAsStmt').node.into?.rel?.relpersistence, 't');
    assert.ok(one('SELECT 1 UNION SELECT 2', 'SelectStmt').node.larg?.targetList);
  });

  it('fields typed Node hold wrapped nodes', () => {
    const del = one('DELETE FROM t WHERE a = 1', 'DeleteStmt');
    assert.equal(nodeKind(del.node.whereClause!), 'A_Expr');
    const alter = one('ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID', 'AlterTableStmt');
    const cmd = nodesOf(alter.node.cmds, 'AlterTableCmd')[0];
    assert.equal(cmd.subtype, 'AT_AddConstraint');
    assert.equal(asNode(cmd.def, 'Constraint')?.skip_validation, true);
    const cursor = one('DECLARE c CURSOR WITH HOLD FOR SELECT 1', 'DeclareCursorStmt');
    assert.equal(typeof cursor.node.options, 'number');
    assert.equal(nodeKind(cursor.node.query!), 'SelectStmt');
  });

  it('a constant 0 is an A_Const whose ival is an empty Integer', () => {
    const sel = one('SELECT 0', 'SelectStmt');
    const c = asNode(asNode(sel.node.targetList?.[0], 'ResTarget')?.val, 'A_Const');
    assert.deepEqual(c?.ival, {});
  });

  it('parsePlPgSQL returns { plpgsql_funcs: [{ PLpgSQL_function: … }] }, not the ParseResult it is declared to (the local PL/pgSQL types)', () => {
    const tree = parsePlPgSQLSync("CREATE FUNCTION f(a int) RETURNS void LANGUAGE plpgsql AS $$ DECLARE x int; BEGIN x := a; EXECUTE format('select %s', a); END $$") as PlpgsqlTree;
    const fn = tree.plpgsql_funcs?.[0]?.PLpgSQL_function;
    assert.ok(fn);
    const names = (fn.datums ?? []).flatMap((d) => Object.values(d).map((v) => v?.refname));
    assert.ok(names.includes('a') && names.includes('x'), JSON.stringify(names));
    const text = JSON.stringify(fn.action);
    assert.match(text, /"PLpgSQL_stmt_dynexecute":\{[^}]*"query":\{"PLpgSQL_expr":\{"query":"format\('select %s', a\)","parseMode":2/);
  });
});
