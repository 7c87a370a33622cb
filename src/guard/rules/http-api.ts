/**
 * HTTP calls that change production through an API instead of a database connection: the
 * Supabase Management API (delete/pause/restore a project, the SQL query endpoint), PostgREST
 * writes and RPCs and the Auth admin API with a service-role key. The project comes from the URL
 * (`<ref>.supabase.co`, `/v1/projects/<ref>/`) or from the `ref` claim of the key that is sent.
 */
import type { Finding, GuardRule, Invocation, RuleHelpers } from './types.js';
import { OPAQUE_ARG } from './types.js';

interface Request {
  method: string;
  url: string;
  headers: string[];
  body: string | null;
}

function parseRequest(inv: Invocation): Request | null {
  const a = inv.args;
  let method = '';
  let url = '';
  const headers: string[] = [];
  let body: string | null = null;
  if (inv.tool === 'http' || inv.tool === 'https' || inv.tool === 'xh') {
    // httpie: [METHOD] URL [items]
    const pos = a.filter((x) => !x.startsWith('-'));
    if (/^(get|head|post|put|patch|delete|options)$/i.test(pos[0] ?? '')) method = pos.shift()!.toUpperCase();
    url = pos.shift() ?? '';
    for (const item of pos) if (/^[\w-]+:/.test(item) && !/^https?:/.test(item)) headers.push(item);
    if (!method) method = pos.some((x) => /[=:]=|[^:]=/.test(x)) ? 'POST' : 'GET';
    return { method, url, headers, body: pos.join(' ') || null };
  }
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const val = () => a[++i] ?? '';
    if (x === '-X' || x === '--request') method = val().toUpperCase();
    else if (/^-X.+/.test(x)) method = x.slice(2).toUpperCase();
    else if (/^--request=/.test(x) || /^--method=/.test(x)) method = x.slice(x.indexOf('=') + 1).toUpperCase();
    else if (x === '--method') method = val().toUpperCase();
    else if (x === '-H' || x === '--header') headers.push(val());
    else if (/^--header=/.test(x)) headers.push(x.slice(9));
    else if (/^(-d|--data|--data-raw|--data-binary|--data-urlencode|--json|-F|--form|--post-data|--body-data)$/.test(x)) body = (body ?? '') + val();
    else if (/^--(data|data-raw|data-binary|json|post-data|body-data)=/.test(x)) body = (body ?? '') + x.slice(x.indexOf('=') + 1);
    else if (x === '-G' || x === '--get') method = 'GET';
    else if (x === '-I' || x === '--head') method = 'HEAD';
    else if (x === '--url') url = val();
    else if (/^-[oOuUAebEKmwxTYyzc]$|^--(output|user|user-agent|referer|cookie|config|cacert|cert|key|max-time|connect-timeout|retry|proxy|resolve|write-out|upload-file|limit-rate|retry-delay|retry-max-time|speed-limit|speed-time|time-cond|cookie-jar|unix-socket|interface)$/.test(x)) i++;
    else if (!x.startsWith('-') && !url) url = x;
  }
  // The URL is the argument that looks like one (option values such as `-m 20` are not).
  url = a.find((x) => /^https?:\/\//i.test(x)) ?? url;
  if (!url) return null;
  if (!method) method = body !== null ? 'POST' : 'GET';
  return { method, url, headers, body };
}

/** The `ref` and `role` claims of a Supabase JWT in the request (apikey / Authorization). */
function keyClaims(headers: string[]): { ref?: string; role?: string; unknown: boolean } {
  let unknown = false;
  for (const h of headers) {
    if (!/^(apikey|authorization)\s*:/i.test(h)) continue;
    if (h.includes(OPAQUE_ARG)) unknown = true;
    const jwt = /eyJ[\w-]+\.([\w-]+)\.[\w-]+/.exec(h);
    if (!jwt) continue;
    try {
      const p = JSON.parse(Buffer.from(jwt[1], 'base64url').toString('utf8')) as { ref?: string; role?: string };
      return { ref: p.ref, role: p.role, unknown: false };
    } catch {
      unknown = true;
    }
    if (/\bsb_secret_/.test(h)) return { role: 'service_role', unknown: false };
  }
  return { unknown };
}

function judge(req: Request, inv: Invocation, h: RuleHelpers): Promise<Finding | null> | Finding | null {
  let u: URL;
  try {
    u = new URL(req.url.includes(OPAQUE_ARG) ? 'http://unknown.invalid/' : req.url);
  } catch {
    return null;
  }
  const method = req.method;
  const write = !/^(GET|HEAD|OPTIONS)$/.test(method);
  const claims = keyClaims(req.headers);
  const mgmt = /(^|\.)api\.supabase\.(com|io)$/.test(u.hostname) || /^\/v1\/projects\//.test(u.pathname);
  const urlRef = /^\/v1\/projects\/([a-z0-9]{20})/.exec(u.pathname)?.[1] ?? /^([a-z0-9]{20})\.supabase\.(co|in)$/.exec(u.hostname)?.[1];
  const ref = claims.ref ?? urlRef;
  const target = ref ? h.target({ supabaseRef: ref }) : h.target({ opaque: claims.unknown ? 'an API key the guard cannot see' : `the API at ${u.host}` });
  if (mgmt) {
    if (/\/database\/query$/.test(u.pathname) && write) {
      let sql: string | null = null;
      try {
        sql = req.body ? ((JSON.parse(req.body) as { query?: string }).query ?? null) : null;
      } catch {
        sql = null;
      }
      return h.sql(sql, target, 'the Management API SQL endpoint');
    }
    if (method === 'DELETE') return { risk: 'destructive', effect: `deletes ${u.pathname.replace(/^\/v1\//, '')} through the Supabase Management API on`, target, alternative: 'Do it from the dashboard with a second person, after `prodguard backup create`.' };
    if (/\/(pause|restore|restart|upgrade|database\/backups\/restore-pitr|branches\/[^/]+\/(reset|merge|push))/.test(u.pathname) && write) return { risk: 'destructive', effect: `calls ${method} ${u.pathname} (pause, restore or rewind) through the Supabase Management API on`, target, alternative: 'Do it from the dashboard with a second person.' };
    if (write) return { risk: 'change', effect: `changes the project (${method} ${u.pathname}) through the Supabase Management API on`, target };
    return null;
  }
  const serviceRole = claims.role === 'service_role' || claims.unknown || req.headers.some((x) => /service_role|SERVICE_ROLE/.test(x));
  if (/^\/(rest|auth|storage|graphql)\/v1\//.test(u.pathname) && ref) {
    if (!write) return null;
    if (!serviceRole && claims.role !== undefined) return null; // anon/user keys are bounded by row-level security
    if (/^\/rest\/v1\/rpc\//.test(u.pathname)) return { risk: 'opaque', effect: `calls the database function ${u.pathname.slice(12)} with a service-role key on`, target };
    if (method === 'DELETE') return { risk: 'destructive', effect: `deletes rows/objects (${u.pathname}${u.search}) with a service-role key, bypassing row-level security, on`, target, alternative: 'Write a reviewed migration or run it on staging.' };
    return { risk: 'change', effect: `writes (${method} ${u.pathname}) with a service-role key, bypassing row-level security, on`, target };
  }
  // Any other API with a production service-role key in the request.
  if (claims.ref && claims.role === 'service_role' && write) return { risk: method === 'DELETE' ? 'destructive' : 'change', effect: `sends ${method} ${u.host}${u.pathname} with production's service-role key to`, target };
  return null;
}

export const rule: GuardRule = {
  id: 'http-api',
  tools: ['curl', 'wget', 'http', 'https', 'xh'],
  severity: 'error',
  title: 'HTTP calls that change production through the Supabase Management API, PostgREST or Auth admin',
  explanation:
    'The Supabase Management API deletes, pauses and restores projects and runs SQL (`/v1/projects/<ref>/database/query`); PostgREST and the Auth admin API accept writes with a service-role key that bypasses row-level security. The project is read from the URL or from the `ref` claim of the key sent. Reads, and writes with an anon or user key, are allowed.',
  examples: {
    deny: ['curl -X DELETE https://api.supabase.com/v1/projects/qwikkerprod123456789', 'curl -X POST https://api.supabase.com/v1/projects/qwikkerprod123456789/pause'],
    allow: ['curl -s https://qwikkerprod123456789.supabase.co/rest/v1/businesses?select=id', 'curl -X DELETE http://localhost:3000/api/cart/1'],
  },
  check(inv, h) {
    const req = parseRequest(inv);
    return req ? judge(req, inv, h) : null;
  },
};
