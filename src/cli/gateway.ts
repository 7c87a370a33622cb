import type { Command } from 'commander';
import { withContext, cliContext, untilStopped } from './common.js';
import { audited, auditedAction } from './audited.js';
import { emit, note, table } from './output.js';
import { UsageError } from '../errors.js';
import { envOption, jsonOption } from './options.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function registerGateway(program: Command): void {
  const gw = program
    .command('gateway')
    .description('read-only PostgreSQL gateway in front of an environment: per-person logins, every statement classified and audited')
    .addOption(envOption('production', { required: false, description: 'environment to serve (usually production)' }))
    .option('--listen <host:port>', 'address to listen on (default: gateway.listen, 127.0.0.1:6432)')
    .option('--read-from <shadow>', "send reads to this environment, the recorded shadow of --env (default: gateway.readFrom); every write is refused")
    .addOption(jsonOption())
    .action(async (opts: { env?: string; listen?: string; readFrom?: string; json?: boolean }, cmd: Command) => {
      if (!opts.env) throw new UsageError('gateway needs --env <name>');
      const { startGateway } = await import('../gateway/start.js');
      const ctx = await cliContext(cmd);
      const started = await audited(ctx, { action: 'gateway.start', target: opts.env, outcome: (s) => ({ reason: `listening on ${s.host}:${s.port}${s.readFrom ? `, reads from the shadow ${s.readFrom}` : ''}` }) }, () => startGateway(ctx, { env: opts.env!, listen: opts.listen, readFrom: opts.readFrom }));
      const where = started.readFrom ? `reads go to the shadow ${started.readFrom}, writes are refused` : `reads go to ${opts.env}`;
      // The note first: whoever reads the JSON line as "started" has the note too.
      note(`prodguard gateway for ${opts.env} listening on ${started.host}:${started.port} (TLS certificate ${started.certificate}); ${where}; Ctrl-C stops it`);
      if (opts.json) process.stdout.write(JSON.stringify({ environment: opts.env, host: started.host, port: started.port, readsFrom: started.readFrom ?? opts.env, shadow: started.readFrom !== null, certificate: started.certificate }) + '\n');
      await untilStopped();
      await audited(ctx, { action: 'gateway.stop', target: opts.env, outcome: () => ({ reason: `${started.gateway.statements} statements relayed` }) }, () => started.gateway.close());
      await ctx.close();
    });

  const user = gw.command('user').description('gateway logins (SCRAM-SHA-256), each mapped to a team member');
  user
    .command('add <name>')
    .description('create a login; prints a generated password once (or reads one with --password-stdin)')
    .requiredOption('--member <name>', 'team member (prodguard.yaml team[].name) this login belongs to')
    .option('--password-stdin', 'read the password from stdin instead of generating one')
    .addOption(jsonOption())
    .action(async (name: string, opts: { member: string; passwordStdin?: boolean; json?: boolean }, cmd: Command) => {
      // Commander gives a trailing --json to `gateway` (its start has one too): read it from there as well.
      opts.json ||= cmd.optsWithGlobals<{ json?: boolean }>().json;
      const { addUser, generatePassword } = await import('../gateway/users.js');
      const { currentActor } = await import('../audit/actor.js');
      const password = opts.passwordStdin ? await readStdin() : generatePassword();
      const outcome = (u: { member: string }) => ({ reason: `login ${name} for ${u.member}` });
      await auditedAction(cmd, { action: 'gateway.user.add', outcome }, async (ctx) => {
        const u = await addUser(await ctx.store(), ctx.loaded.config.team, { name, member: opts.member, password, createdBy: currentActor() });
        const generated = !opts.passwordStdin;
        // The generated password is shown once, on stdout only, and never audited.
        if (opts.json) process.stdout.write(JSON.stringify({ name, member: u.member, ...(generated ? { password } : {}) }, null, 2) + '\n');
        else process.stdout.write(generated ? `gateway user ${name} (${u.member}) created; password (shown once): ${password}\n` : `gateway user ${name} (${u.member}) created\n`);
        return u;
      });
    });
  user
    .command('remove <name>')
    .description('delete a login (its open sessions end when they disconnect)')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { removeUser } = await import('../gateway/users.js');
      await auditedAction(cmd, { action: 'gateway.user.remove', outcome: () => ({ reason: `login ${name} removed` }) }, async (ctx) => removeUser(await ctx.store(), name));
      process.stdout.write(`gateway user ${name} removed\n`);
    });
  user
    .command('list')
    .description('list logins (names and members; never verifiers)')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      opts.json ||= cmd.optsWithGlobals<{ json?: boolean }>().json;
      const { listUsers } = await import('../gateway/users.js');
      await withContext(cmd, async (ctx) => {
        const users = (await listUsers(await ctx.store())).map((u) => ({ name: u.name, member: u.member, createdAt: u.createdAt, createdBy: u.createdBy }));
        emit(opts, users, () => (users.length ? table(['name', 'member', 'created', 'by'], users.map((u) => [u.name, u.member, u.createdAt.slice(0, 19), u.createdBy])) : 'no gateway users'));
      });
    });
}

export function registerGrants(program: Command): void {
  program
    .command('grants')
    .description('time-boxed write grants (deploy, break-glass) the gateway and lockdown honour')
    .addOption(envOption('filter'))
    .option('--active', 'only grants that are neither expired nor revoked')
    .addOption(jsonOption())
    .action(async (opts: { env?: string; active?: boolean; json?: boolean }, cmd: Command) => {
      const { listGrants, grantIsActive } = await import('../grants/grants.js');
      await withContext(cmd, async (ctx) => {
        const grants = await listGrants(await ctx.store(), { env: opts.env, activeOnly: opts.active });
        emit(opts, grants, () =>
          grants.length
            ? table(['id', 'env', 'person', 'kind', 'expires', 'state', 'reason'], grants.map((g) => [g.id, g.env, g.person, g.kind, g.expiresAt.slice(0, 19), g.revokedAt ? 'revoked' : grantIsActive(g) ? 'active' : 'expired', g.reason.slice(0, 60)]))
            : 'no grants',
        );
      });
    });
}

export function registerMcp(program: Command): void {
  program
    .command('mcp')
    .description('MCP server (stdio) giving agents read-only access to an environment: query, describe, explain, status, request a change')
    .addOption(envOption('any'))
    .option('--read-from <shadow>', 'run query/describe/explain on this environment, the recorded shadow of --env')
    .action(async (opts: { env: string; readFrom?: string }, cmd: Command) => {
      const { serveMcpStdio } = await import('../mcp/server.js');
      await withContext(cmd, (ctx) => serveMcpStdio(ctx, { env: opts.env, readFrom: opts.readFrom }));
    });
}
