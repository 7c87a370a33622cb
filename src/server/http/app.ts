/**
 * The dashboard and health/metrics endpoints as one Hono app. Every page needs a login; only
 * /healthz and /readyz are open (they say nothing about the data). /metrics takes the token as
 * `Authorization: Bearer …` (what Prometheus sends) or a logged-in session. Handlers are thin:
 * auth and security headers are middleware, pages are functions in pages.ts.
 */
import { Hono, type Context as HonoContext } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from '../../context.js';
import { maskSecrets } from '../../security/mask.js';
import { checkLogin, tokenMatches, type AuthSettings, Sessions } from './auth.js';
import { esc, page } from './html.js';
import * as pages from './pages.js';
import type { ServerMetrics } from '../metrics.js';

export interface AppDeps {
  ctx: Context;
  auth: AuthSettings;
  metrics: ServerMetrics;
  /** The schedule this process runs (empty when it is not the leader). */
  schedule(): Array<{ id: string; cron: string; next: string | null }>;
  ready(): Promise<{ ok: boolean; reason: string }>;
}

const COOKIE = 'prodguard_session';
/** Failed sign-ins allowed per client address per window: slows password guessing to a crawl. */
export const LOGIN_FAILURES_ALLOWED = 10;
const LOGIN_WINDOW_MS = 15 * 60_000;

type Env = { Variables: { user: string } };

export function createApp(deps: AppDeps): Hono<Env> {
  const app = new Hono<Env>();
  const sessions = new Sessions();
  const failures = new Map<string, { count: number; since: number }>();
  const project = deps.ctx.loaded.config.project.name;
  const render = (c: HonoContext<Env>, title: string, body: string, status: 200 | 401 | 403 | 404 | 429 | 500 = 200) =>
    c.html(page({ title, body, path: new URL(c.req.url).pathname, user: c.get('user') ?? null, project }), status);

  app.use('*', async (c, next) => {
    await next();
    c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'same-origin');
    c.header('Cache-Control', 'no-store');
  });

  app.onError((err, c) => {
    process.stderr.write(`prodguard serve: ${maskSecrets(err.message)}\n`);
    return render(c, 'Error', `<h1>This page could not be built</h1><div class="card"><p class="error">${esc(maskSecrets(err.message))}</p><p class="muted">The server is still running; the details are in its log.</p></div>`, 500);
  });

  app.get('/healthz', (c) => c.text('ok\n'));
  app.get('/readyz', async (c) => {
    const r = await deps.ready();
    return c.text(`${r.ok ? 'ready' : 'not ready'}: ${r.reason}\n`, r.ok ? 200 : 503);
  });

  app.get('/metrics', async (c) => {
    const bearer = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1];
    if (!(bearer && tokenMatches(bearer, deps.auth.token)) && !sessions.check(getCookie(c, COOKIE))) {
      return c.text('unauthorized: send the dashboard token as "Authorization: Bearer <token>"\n', 401);
    }
    return c.body(await deps.metrics.render(deps.ctx), 200, { 'content-type': deps.metrics.registry.contentType });
  });

  const loginForm = (error?: string) => `<div class="login card"><h1>Sign in</h1>${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/login">
${deps.auth.users.length ? `<label>Name<input name="name" autocomplete="username"></label><label>Password<input name="password" type="password" autocomplete="current-password"></label><div class="or">or</div>` : ''}
<label>Access token<input name="token" type="password" autocomplete="off"></label>
<button class="primary" type="submit">Sign in</button></form></div>`;

  app.get('/login', (c) => render(c, 'Sign in', loginForm()));
  app.post('/login', async (c) => {
    // A cross-site form post must not log a browser in (login CSRF).
    const origin = c.req.header('origin');
    const crossSite = c.req.header('sec-fetch-site') === 'cross-site' || (origin !== undefined && origin !== 'null' && URL.canParse(origin) && new URL(origin).host !== c.req.header('host'));
    if (crossSite) return render(c, 'Sign in', loginForm('Sign-in from another site refused.'), 403);
    const who = getConnInfo(c).remote.address ?? 'unknown';
    const now = Date.now();
    const f = failures.get(who);
    if (f && now - f.since < LOGIN_WINDOW_MS && f.count >= LOGIN_FAILURES_ALLOWED) {
      return render(c, 'Sign in', loginForm('Too many failed sign-ins from this address; try again in 15 minutes.'), 429);
    }
    const form = await c.req.parseBody();
    const str = (k: string) => (typeof form[k] === 'string' ? (form[k] as string) : undefined);
    const user = checkLogin(deps.auth, { name: str('name'), password: str('password'), token: str('token') });
    await deps.ctx.audit({ action: 'serve.login', command: 'dashboard sign-in', target: '-', verdict: user ? 'ok' : 'refused', reason: user ? `signed in as ${user}` : `failed sign-in${str('name') ? ` for ${str('name')}` : ''}` });
    if (!user) {
      const cur = f && now - f.since < LOGIN_WINDOW_MS ? f : { count: 0, since: now };
      failures.set(who, { count: cur.count + 1, since: cur.since });
      if (failures.size > 10_000) for (const [k, v] of failures) if (now - v.since >= LOGIN_WINDOW_MS) failures.delete(k);
      return render(c, 'Sign in', loginForm('Wrong name, password or token.'), 401);
    }
    failures.delete(who);
    setCookie(c, COOKIE, sessions.issue(user), { httpOnly: true, sameSite: 'Strict', path: '/' });
    return c.redirect('/', 303);
  });
  app.post('/logout', (c) => {
    deleteCookie(c, COOKIE, { path: '/' });
    return c.redirect('/login', 303);
  });

  app.use('*', async (c, next) => {
    const user = sessions.check(getCookie(c, COOKIE));
    if (!user) return c.redirect('/login', 303);
    c.set('user', user);
    await next();
  });

  const show = (path: string, build: (c: HonoContext<Env>) => Promise<{ title: string; body: string }>) =>
    app.get(path, async (c) => {
      const p = await build(c);
      return render(c, p.title, p.body);
    });
  show('/', () => pages.scorecardPage(deps.ctx));
  show('/backups', () => pages.backupsPage(deps.ctx));
  show('/drills', () => pages.drillsPage(deps.ctx));
  show('/changes', () => pages.changesPage(deps.ctx));
  show('/audit', (c) => pages.auditPage(deps.ctx, { actor: c.req.query('actor') || undefined, target: c.req.query('target') || undefined, verdict: c.req.query('verdict') || undefined }));
  show('/guard', () => pages.guardPage(deps.ctx));
  show('/jobs', () => pages.jobsPage(deps.ctx, deps.schedule()));
  show('/grants', () => pages.grantsPage(deps.ctx));
  app.notFound((c) => render(c, 'Not found', '<h1>Not found</h1><p><a href="/">Back to the scorecard</a></p>', 404));
  return app;
}
