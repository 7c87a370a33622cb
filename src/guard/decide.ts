/**
 * The decision engine: a command line, its directory and environment in; allow / deny /
 * backup-first out, with the rule that fired, the target and one human sentence.
 */
import type { LoadedConfig } from '../config/load.js';
import { environmentPolicy } from '../config/resolve-environment.js';
import type { Finding, Invocation, RuleHelpers } from './rules/types.js';
import { OPAQUE_ARG } from './rules/types.js';
import { ambientTarget, describeTarget, parseDotenv, readScoped, resolveTarget, URL_VARS, type Env, type GuardScope, type Target } from './target.js';
import type { SimpleCommand } from './shell.js';
import { unwrap, toolName, shellQuote, type UnwrapDeps, type Step } from './unwrap.js';
import { makeRecipe } from './make.js';
import { wrapperNames } from './wrappers/index.js';
import { maskSecrets } from '../security/mask.js';
import { protectedFile } from './protected-files.js';
import { DATA_ONLY, mentions } from './mentions.js';
import { fastAllow } from './fast-path.js';
import { UNKNOWN_CONTENT } from './shell.js';
import { errorMessage } from '../errors.js';
import { findConfigFile, loadConfig } from '../config/load.js';
import { parseShell } from './shell.js';
import { rulesForTool } from './rules/index.js';
import { judgeSql } from './sql-judge.js';

export type Decision = 'allow' | 'deny' | 'backup-first';

export interface DecideInput {
  command: string;
  cwd: string;
  env: Env;
  /** The project's config; undefined = find prodguard.yaml from cwd; null = none. */
  config?: LoadedConfig | null;
}

export interface JudgedFinding {
  ruleId: string;
  risk: Finding['risk'];
  decision: Decision;
  reason: string;
  target: Pick<Target, 'name' | 'kind' | 'via'> & { label: string };
  command: string;
}

export interface GuardDecision {
  decision: Decision;
  ruleId: string | null;
  target: { name: string | null; kind: Target['kind'] | 'none'; via: string };
  reason: string;
  command: string;
  /** For --explain: unwrapping steps, targets, rules. */
  steps: string[];
  findings: JudgedFinding[];
  /** Parse tree summary (only with explain). */
  outline?: string[];
}

/** Programs whose file arguments they change, delete or replace. */
const FILE_MUTATORS = new Set(['rm', 'mv', 'cp', 'tee', 'sed', 'truncate', 'chmod', 'chown', 'ln', 'unlink', 'shred', 'install', 'touch', 'rsync', 'sponge', 'patch', 'yq', 'sqlite3', 'git']);
/** Of these, only the last argument is written (the others are read). */
const COPIERS = new Set(['cp', 'ln', 'install', 'rsync']);

/** Commands that open a tunnel: after them, localhost on the same line can be production. */
const TUNNEL = /\bssh\b[^|;&\n]*\s-[A-Za-z]*[LDRW]|\bport-forward\b|cloud[-_]sql[-_]proxy|\bsocat\b[^|;&\n]*LISTEN|\b(fly|flyctl)\s+proxy\b|PortForwarding|\bboundary\s+connect\b|\bngrok\s+tcp\b|\bsshuttle\b|\bautossh\b/;

const RANK: Record<Decision, number> = { allow: 0, 'backup-first': 1, deny: 2 };
const MAX_DEPTH = 6;

/** Names whose presence means the command needs the full parse (tools, wrappers, shells). */
/** Variables whose value a program runs as a command (GIT_SSH_COMMAND, BASH_ENV, PAGER, …). */
export const EXEC_VARS = new Set(['MANPAGER', 'SYSTEMD_PAGER', 'BROWSER', 'GIT_SSH_COMMAND', 'GIT_SSH', 'GIT_EXTERNAL_DIFF', 'GIT_EDITOR', 'GIT_SEQUENCE_EDITOR', 'GIT_PAGER', 'GIT_ASKPASS', 'SSH_ASKPASS', 'EDITOR', 'VISUAL', 'PAGER', 'PSQL_PAGER', 'PSQL_EDITOR', 'LESSOPEN', 'BASH_ENV', 'ENV', 'PROMPT_COMMAND', 'LD_PRELOAD', 'NODE_OPTIONS', 'PYTHONSTARTUP', 'PERL5OPT', 'RUBYOPT']);

/** Program names that need the full parse besides wrappers and rule tools. */
const EXTRA_NAMES = ['manage.py', 'django-admin', 'sequelize-cli', 'supabase-cli'];

function loadProjectConfig(cwd: string, steps: string[]): Promise<LoadedConfig | null> {
  return (async () => {
    const file = findConfigFile(cwd);
    if (!file) {
      steps.push('config: no prodguard.yaml found; every non-local target is unknown');
      return null;
    }
    try {
      const loaded = loadConfig({ file });
      steps.push(`config: ${file}`);
      return loaded;
    } catch (err) {
      steps.push(`config: ${file} is invalid (${errorMessage(err).split('\n')[0]}); treating every non-local target as unknown`);
      return null;
    }
  })();
}

export async function decide(input: DecideInput, opts: { explain?: boolean } = {}): Promise<GuardDecision> {
  const steps: string[] = [];
  const command = input.command;
  if (fastAllow(command.trim())) {
    return { decision: 'allow', ruleId: null, target: { name: null, kind: 'none', via: 'not a database command' }, reason: `\`${short(command)}\` does not run a database tool`, command, steps: ['fast path: a plain command whose program is not a database tool or wrapper'], findings: [] };
  }
  const loaded = input.config === undefined ? await loadProjectConfig(input.cwd, steps) : input.config;
  const scope: GuardScope = { cwd: input.cwd, env: input.env, loaded, files: new Map(), tunnel: TUNNEL.test(command) };
  const engine = new Engine(loaded, steps, input.env.PATH);
  const outline = await engine.analyseText(command, scope, 0, 'command line', opts.explain ?? false);
  return engine.result(command, outline);
}

class Engine {
  findings: JudgedFinding[] = [];
  /** Variables a file sourced on this line sets (`. ./.env.production`, `set -a; source .env`): later commands see them. */
  sourced: Env = {};
  constructor(private loaded: LoadedConfig | null, private steps: string[], private originPath?: string) {}

  deps: UnwrapDeps = {
    readFile: (p, scope) => readScoped(scope, p),
    scripts: (scope) => {
      const t = readScoped(scope, 'package.json');
      if (t === null) return null;
      try {
        return (JSON.parse(t) as { scripts?: Record<string, string> }).scripts ?? {};
      } catch {
        return null;
      }
    },
    makeRecipe: (scope, target, makefile) => {
      const t = makefile ? readScoped(scope, makefile) : readScoped(scope, 'GNUmakefile') ?? readScoped(scope, 'makefile') ?? readScoped(scope, 'Makefile');
      return t === null ? null : makeRecipe(t, target, scope.env);
    },
  };

  async analyseText(text: string, scope: GuardScope, depth: number, label: string, explain: boolean): Promise<string[] | undefined> {
    if (depth > MAX_DEPTH) {
      this.opaque(`nesting deeper than ${MAX_DEPTH} levels`, scope, label);
      return;
    }
    const parsed = await parseShell(text, { ...scope.env });
    for (const [k, v] of parsed.files) scope.files.set(k, v);
    this.steps.push(`${'  '.repeat(depth)}parse ${label}: ${parsed.commands.length} command(s)${parsed.errors.length ? `, syntax errors: ${parsed.errors.join('; ')}` : ''}`);
    if (parsed.errors.length) this.opaque(`the shell syntax does not parse (${parsed.errors[0]})`, scope, label);
    // Variables assigned earlier on the line apply to later commands: re-parse keeps order, so
    // give each command the variables known when it runs.
    for (const cmd of parsed.commands) await this.analyseCommand(cmd, { ...scope, env: { ...scope.env, ...exportedVars(parsed.vars, scope.env), ...this.sourced } }, depth, explain);
    return explain ? parsed.outline : undefined;
  }

  private async analyseCommand(cmd: SimpleCommand, scope: GuardScope, depth: number, explain: boolean): Promise<void> {
    const pad = '  '.repeat(depth + 1);
    // Variables a program runs as a command (GIT_SSH_COMMAND=…, BASH_ENV=file, PAGER=…).
    for (const a of cmd.assigns) {
      if (!EXEC_VARS.has(a.name)) continue;
      if (a.value === null) this.opaque(`$${a.name} is set to a command the guard cannot see`, scope, cmd.text);
      else if (a.name === 'BASH_ENV' || a.name === 'ENV' || a.name === 'PYTHONSTARTUP') {
        const text = readScoped(scope, a.value);
        if (text === null) this.opaque(`$${a.name} names ${a.value}, which cannot be read`, scope, cmd.text);
        else await this.analyseText(text, scope, depth + 1, `$${a.name} ${a.value}`, explain);
      } else await this.analyseText(a.value, scope, depth + 1, `$${a.name}`, explain);
    }
    if (/^(export|declare|typeset)$/.test(cmd.words[0]?.value ?? '') && cmd.words.slice(1).some((w) => w.value === null)) {
      // `export $(grep … .env.production | xargs)`: which variables it sets is unknown.
      for (const k of [...URL_VARS, 'PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGDATABASE', 'PGSERVICE']) this.sourced[k] = OPAQUE_ARG;
    }
    const units = unwrap(cmd, scope, scope.files, this.deps);
    // The same variables set through a wrapper (`sudo GIT_SSH_COMMAND=… git fetch`, `env BASH_ENV=…`).
    for (const u of units) {
      if (u.kind !== 'tool') continue;
      for (const k of EXEC_VARS) {
        const v = u.env[k];
        if (v === undefined || v === scope.env[k] || cmd.assigns.some((a) => a.name === k)) continue;
        if (v.includes(OPAQUE_ARG)) this.opaque(`$${k} is set to a command the guard cannot see`, u.scope, cmd.text);
        else if (k === 'BASH_ENV' || k === 'ENV' || k === 'PYTHONSTARTUP') {
          const text = readScoped(u.scope, v);
          if (text === null) this.opaque(`$${k} names ${v}, which cannot be read`, u.scope, cmd.text);
          else await this.analyseText(text, u.scope, depth + 1, `$${k} ${v}`, explain);
        } else await this.analyseText(v, u.scope, depth + 1, `$${k}`, explain);
      }
    }
    this.protectedWrites(cmd.writes.filter((w): w is string => w !== null), scope, cmd.text, 'writing');
    for (const u of units) {
      const chain = u.steps.map((s, i) => `${i ? `(${u.steps[i - 1].via}) ` : ''}${s.words.map((w) => (w === OPAQUE_ARG ? '<?>' : shellQuote(w))).join(' ')}`);
      this.steps.push(maskSecrets(`${pad}${chain.join('  →  ') || cmd.text}`));
      if (u.kind !== 'none' && this.customRules(u.steps, u.scope, cmd.text)) continue;
      switch (u.kind) {
        case 'none':
          break;
        case 'opaque':
          if (u.dbHint) this.opaque(u.why, u.scope, cmd.text);
          else this.steps.push(`${pad}  allowed: ${u.why}`);
          break;
        case 'script':
          await this.analyseText(u.text, { ...u.scope, env: u.env }, depth + 1, u.label, explain);
          if (u.label.startsWith('source ')) Object.assign(this.sourced, parseDotenv(u.text));
          break;
        case 'tool': {
          if (FILE_MUTATORS.has(u.tool)) {
            const files = u.args.filter((a) => !a.startsWith('-'));
            const inPlace = u.args.some((a) => /^-[a-zA-Z]*i|^--in-place/.test(a));
            const written = COPIERS.has(u.tool) ? files.slice(-1) : (u.tool === 'sed' || u.tool === 'yq') && !inPlace ? [] : u.tool === 'sqlite3' ? files.slice(0, 1) : u.tool === 'git' ? (/^(rm|mv|checkout|restore|reset|clean|stash)$/.test(files[0] ?? '') ? files.slice(1) : []) : files;
            this.protectedWrites(written, u.scope, cmd.text, u.tool);
            if (u.tool === 'git' && /^(push|commit|merge|rebase|am)$/.test(files[0] ?? '') && u.args.some((a) => a === '--no-verify' || (a === '-n' && files[0] === 'commit'))) {
              this.push({ ruleId: 'protected-file', risk: 'change', decision: 'deny', reason: `\`${short(cmd.text)}\`: --no-verify skips the git hooks prodguard installed (migration lint before push). Run it without --no-verify.`, target: { name: null, kind: 'local', via: 'git hooks', label: 'git hooks' }, command: cmd.text });
            }
            // Copies and links made on this line are what later commands read and run.
            if ((u.tool === 'cp' || u.tool === 'ln' || u.tool === 'mv' || u.tool === 'install') && files.length >= 2) {
              const src = files[files.length - 2];
              const text = src.includes(OPAQUE_ARG) ? null : readScoped(u.scope, src);
              u.scope.files.set(files[files.length - 1], text ?? UNKNOWN_CONTENT);
            }
          }
          const rules = u.tool === 'docker-volume-rm' || u.tool === 'kubectl-delete' ? [] : rulesForTool(u.tool);
          if (u.tool === 'kubectl-delete') {
            const [kind, ...names] = u.args.filter((a) => !a.startsWith('-'));
            const ns = u.args[u.args.findIndex((a) => a === '-n' || a === '--namespace') + 1] ?? '';
            if (/^(pvc|persistentvolumeclaims?|pv|persistentvolumes?|statefulsets?|sts|namespaces?|ns|clusters?|postgresqls?|deployments?|deploy)$/.test(kind ?? '') && (names.some((n) => /db|pg|postgres|data|supabase|sql/i.test(n)) || /^(namespaces?|ns)$/.test(kind ?? '') || /prod/i.test(ns))) {
              this.judge('kubectl-delete', cmd.text, { risk: 'destructive', effect: `deletes the Kubernetes ${kind} ${names.join(' ')}${ns ? ` in namespace ${ns}` : ''} (a database or its storage) on`, target: { name: null, kind: 'unknown', label: 'unknown', via: `kubectl delete ${kind}` }, alternative: 'Take a verified backup and do it yourself, not through an agent.' }, u.steps);
            }
            break;
          }
          if (u.tool === 'docker-volume-rm') {
            const vols = u.args.filter((a) => !a.startsWith('-'));
            const bad = vols.filter((v) => !/^supabase_/.test(v));
            if (bad.length && bad.some((v) => /db|pg|postgres|data/i.test(v))) this.judge('docker-volume', cmd.text, { risk: 'destructive', effect: `deletes the docker volume ${bad.join(', ')} (a database's data) on`, target: { name: null, kind: 'unknown', label: 'unknown', via: 'docker volume on this machine' }, alternative: 'Take a verified backup first.' }, u.steps);
            break;
          }
          if (!rules.length) {
            this.unmodelled(u, cmd, pad);
            break;
          }
          const inv: Invocation = {
            tool: u.tool,
            args: u.args,
            opaque: u.opaque,
            stdin: u.stdin,
            scope: { ...u.scope, env: u.env },
            env: u.env,
            display: [u.tool, ...u.args].map((w) => (w === OPAQUE_ARG ? '<?>' : shellQuote(w))).join(' '),
          };
          const helpers = this.helpers(inv.scope);
          // Every rule that looks at the tool (one per supabase operation); each judges on its own.
          let found = false;
          for (const rule of rules) {
            let f: Finding | null;
            try {
              f = await rule.check(inv, helpers);
            } catch (err) {
              f = { risk: 'opaque', effect: `could not be analysed (${errorMessage(err)}) — targets`, target: resolveTarget(inv.scope, { opaque: 'analysis failed' }) };
            }
            if (f) {
              found = true;
              this.judge(rule.id, inv.display, f, u.steps);
            }
          }
          if (!found) this.steps.push(`${pad}  rule ${rules.length === 1 ? rules[0].id : `${rules[0].id}…`}: nothing dangerous`);
          break;
        }
      }
    }
  }

  /** prodguard's policy, the hooks and the agents' settings are not for an agent to change (protected-files.ts). */
  private protectedWrites(paths: string[], scope: GuardScope, text: string, how: string): void {
    if (scope.remote) return;
    for (const p of paths) {
      const what = protectedFile(p, scope.cwd);
      if (!what) continue;
      this.push({ ruleId: 'protected-file', risk: 'change', decision: 'deny', reason: `\`${short(text)}\`: ${how} ${p} is refused: it is ${what}. Change it yourself, outside the agent.`, target: { name: null, kind: 'local', via: p, label: p }, command: text });
      return;
    }
  }

  /**
   * A program without a rule or wrapper model: if its strings (arguments, stdin, the variables set
   * for it) name a production host/ref/URL it is refused; if they name a database tool, it is
   * treated as a command the guard cannot see into (refused when production is reachable).
   */
  private unmodelled(u: Extract<ReturnType<typeof unwrap>[number], { kind: 'tool' }>, cmd: SimpleCommand, pad: string): void {
    // PATH changed on this line to a directory the guard does not know: a name can be any program.
    const path = u.env.PATH;
    if (path !== undefined && path !== u.scope.env.PATH && path !== this.originPath && path.split(':').some((p) => p && !p.startsWith('/'))) {
      this.opaque(`PATH puts ${path.split(':').find((p) => !p.startsWith('/'))} first, so ${u.tool} may be any program`, { ...u.scope, env: u.env }, cmd.text);
      return;
    }
    if (DATA_ONLY.has(u.tool)) return;
    const setFor = Object.entries(u.env).filter(([k, v]) => v !== undefined && u.scope.env[k] !== v).map(([, v]) => v!);
    const texts = [...u.args, ...setFor, ...(u.stdin?.text ? [u.stdin.text] : [])].filter((x) => !x.includes(OPAQUE_ARG));
    const m = mentions(texts, { ...u.scope, env: u.env });
    if (!m) return;
    this.steps.push(`${pad}  ${u.tool}: no rule, and its strings mention ${m.what}`);
    if (m.production) {
      const target = ambientTarget({ ...u.scope, env: u.env });
      this.push({ ruleId: 'unmodelled-program', risk: 'opaque', decision: 'deny', reason: `\`${short(cmd.text)}\`: ${u.tool} is a program prodguard has no model of, and it is given ${m.what}. Use a tool the guard knows (psql, prodguard migrate) or run it on staging.`, target: { name: target.kind === 'production' ? target.name : null, kind: 'production', via: m.what, label: m.what }, command: cmd.text });
    } else this.opaque(`${u.tool} is a program the guard has no model of, and it is given ${m.what}`, { ...u.scope, env: u.env }, cmd.text);
  }

  private helpers(scope: GuardScope): RuleHelpers {
    return {
      target: (spec) => resolveTarget(scope, spec),
      sql: async (text, target, source) => {
        return judgeSql(text, target, source);
      },
      readFile: (p) => readScoped(scope, p),
    };
  }

  private customRules(chain: Step[], scope: GuardScope, text: string): boolean {
    const rules = this.loaded?.config.guard.rules ?? [];
    if (!rules.length) return false;
    for (const s of chain) {
      for (const r of rules) {
        const m = r.match.split(/\s+/).filter(Boolean);
        if (m.length > s.words.length || !m.every((w, i) => s.words[i] === w)) continue;
        const target = ambientTarget(scope);
        if (r.environments && !(target.name && r.environments.includes(target.name))) continue;
        this.steps.push(`    custom rule ${r.id} (${r.decision}) matches "${r.match}"`);
        if (r.decision === 'allow') return true;
        this.push({ ruleId: `custom:${r.id}`, risk: 'destructive', decision: r.decision, reason: `\`${short(text)}\`: ${r.reason}`, target: pick(target), command: text });
        return true;
      }
    }
    return false;
  }

  opaque(why: string, scope: GuardScope, text: string): void {
    const target = ambientTarget(scope);
    const couldBeProd = target.kind === 'production' || target.kind === 'unknown';
    const decision: Decision = couldBeProd ? 'deny' : 'allow';
    const reason = couldBeProd
      ? `\`${short(text)}\`: cannot tell what this does (${why}), and the database it could reach is ${describeTarget(target)}. Spell the command out so it can be checked.`
      : `\`${short(text)}\`: cannot see into it (${why}), but the project's database is ${describeTarget(target)}`;
    this.push({ ruleId: 'opaque', risk: 'opaque', decision, reason, target: pick(target), command: text });
  }

  judge(ruleId: string, display: string, f: Finding, chain: Step[]): void {
    const via = chain.length > 1 ? ` (via ${chain.slice(0, -1).map((s) => s.via).join(' → ')})` : '';
    this.push(judgeFinding(this.loaded, ruleId, display, f, via));
  }

  private push(f: JudgedFinding): void {
    this.findings.push(f);
    this.steps.push(maskSecrets(`    → ${f.decision} by ${f.ruleId}: ${f.reason}`));
  }

  result(command: string, outline?: string[]): GuardDecision {
    let worst: JudgedFinding | null = null;
    for (const f of this.findings) if (!worst || RANK[f.decision] > RANK[worst.decision]) worst = f;
    const base = { command, steps: this.steps, findings: this.findings, ...(outline ? { outline } : {}) };
    if (!worst) return { ...base, decision: 'allow', ruleId: null, target: { name: null, kind: 'none', via: 'no database command found' }, reason: `\`${short(command)}\` does not touch a database the guard knows of` };
    return { ...base, decision: worst.decision, ruleId: worst.ruleId, target: { name: worst.target.name, kind: worst.target.kind, via: worst.target.via }, reason: worst.reason };
  }
}

/** A rule's finding under the environment policy: the decision and the one-sentence reason. */
export function judgeFinding(loaded: LoadedConfig | null, ruleId: string, display: string, f: Finding, via = ''): JudgedFinding {
  const t = f.target;
  const decision = policyFor(loaded, f);
  const where = describeTarget(t);
  let reason = `\`${short(display)}\`${via} ${f.effect} ${where}.`;
  if (decision === 'deny' && t.kind === 'unknown') reason += ' prodguard cannot tell which environment that is, so it refuses (fail closed).';
  if (decision === 'deny' && f.risk === 'opaque' && t.kind !== 'unknown') reason = `\`${short(display)}\`${via}: cannot tell what this does — it ${f.effect} ${where}.`;
  if (decision === 'backup-first') reason += ' Allowed after a fresh verified backup: run it as `prodguard guard -- …`.';
  else if (decision === 'deny' && f.alternative) reason += ' ' + f.alternative;
  return { ruleId, risk: f.risk, decision, reason, target: pick(t), command: display };
}

function policyFor(loaded: LoadedConfig | null, f: Finding): Decision {
  const t = f.target;
  if (f.risk === 'read' || t.kind === 'local') return 'allow';
  const e = t.name ? loaded?.config.environments[t.name] : undefined;
  const policy = e ? environmentPolicy(e) : t.kind === 'staging' ? 'backup-first' : 'deny';
  if (t.kind === 'unknown') return 'deny';
  switch (f.risk) {
    case 'destructive':
      return policy;
    case 'change':
      return t.kind === 'production' && policy !== 'allow' ? 'deny' : 'allow';
    case 'opaque':
      return t.kind === 'production' ? 'deny' : 'allow';
  }
}

function pick(t: Target): JudgedFinding['target'] {
  return { name: t.name, kind: t.kind, via: t.via, label: t.label };
}


/** Variables assigned on the line that differ from the environment (assignments before a command apply to it). */
function exportedVars(vars: Env, env: Env): Env {
  const out: Env = {};
  for (const [k, v] of Object.entries(vars)) if (v !== env[k]) out[k] = v;
  return out;
}

function short(s: string): string {
  const one = maskSecrets(s.replace(/\s+/g, ' ').trim());
  return one.length > 140 ? one.slice(0, 137) + '…' : one;
}
