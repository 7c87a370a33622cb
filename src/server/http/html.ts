/** HTML building for the dashboard: escaping in one place, the page frame, small components. */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export const NAV: Array<{ path: string; label: string }> = [
  { path: '/', label: 'Scorecard' },
  { path: '/backups', label: 'Backups' },
  { path: '/drills', label: 'Drills' },
  { path: '/changes', label: 'Changes' },
  { path: '/audit', label: 'Audit log' },
  { path: '/guard', label: 'Guard blocks' },
  { path: '/grants', label: 'Break-glass' },
  { path: '/jobs', label: 'Job runs' },
];

const CSS = `
:root{--bg:#f6f7f9;--card:#fff;--ink:#1c2330;--muted:#5d6778;--line:#e2e6ec;--ok:#1a7f4b;--okbg:#e6f4ec;--warn:#9a6300;--warnbg:#fdf3dc;--bad:#b42318;--badbg:#fdecea;--accent:#2457c5}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;background:var(--bg);color:var(--ink)}
header{background:#111827;color:#fff;padding:0 20px}
header .in{max-width:1100px;margin:0 auto;display:flex;align-items:center;gap:18px;flex-wrap:wrap;min-height:52px}
header .brand{font-weight:650;letter-spacing:.2px}
header .brand small{font-weight:400;color:#9aa4b5;margin-left:6px}
nav{display:flex;gap:4px;flex-wrap:wrap;flex:1}
nav a{color:#cbd2dd;text-decoration:none;padding:6px 10px;border-radius:6px;font-size:14px}
nav a:hover{background:#1f2937;color:#fff}
nav a.on{background:#374151;color:#fff}
header .who{font-size:13px;color:#9aa4b5}
header .who button{background:none;border:1px solid #4b5563;color:#cbd2dd;border-radius:6px;padding:3px 8px;margin-left:8px;cursor:pointer}
main{max-width:1100px;margin:0 auto;padding:20px}
h1{font-size:22px;margin:4px 0 16px}
h2{font-size:17px;margin:24px 0 10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px;margin-bottom:14px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:14px}
.pill{display:inline-block;font-size:12px;font-weight:600;padding:2px 9px;border-radius:999px;white-space:nowrap}
.ok{background:var(--okbg);color:var(--ok)}.missing{background:var(--warnbg);color:var(--warn)}.failing,.failed,.bad{background:var(--badbg);color:var(--bad)}
.skipped,.running,.neutral{background:#eef1f5;color:var(--muted)}
.rule{display:flex;gap:12px;align-items:flex-start}
.rule .n{font-size:13px;color:var(--muted);min-width:52px}
.rule h3{margin:0 0 4px;font-size:16px}
.reason{color:var(--muted);margin:4px 0 0;font-size:14px}
ul.checks{margin:10px 0 0;padding:0;list-style:none;font-size:14px}
ul.checks li{padding:6px 0;border-top:1px solid var(--line);display:flex;gap:8px;align-items:baseline}
table{width:100%;border-collapse:collapse;font-size:14px}
th{text-align:left;font-weight:600;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.4px;border-bottom:1px solid var(--line);padding:8px 8px}
td{border-bottom:1px solid var(--line);padding:8px;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.wide{min-width:200px;overflow-wrap:anywhere}
time{white-space:nowrap}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.muted{color:var(--muted)}
.scroll{overflow-x:auto}
.banner{padding:12px 16px;border-radius:10px;margin-bottom:16px;font-weight:600}
form.filters{display:flex;gap:10px;flex-wrap:wrap;align-items:flex-end;margin-bottom:12px}
label{font-size:13px;color:var(--muted);display:flex;flex-direction:column;gap:4px}
input,select{font:inherit;padding:7px 9px;border:1px solid #cfd5de;border-radius:7px;background:#fff;min-width:150px}
button.primary{font:inherit;background:var(--accent);color:#fff;border:0;border-radius:7px;padding:8px 16px;cursor:pointer}
.login{max-width:380px;margin:60px auto}
.login form{display:flex;flex-direction:column;gap:12px}
.login .or{text-align:center;color:var(--muted);font-size:13px}
.error{color:var(--bad);font-weight:600}
svg.chart{width:100%;max-width:720px;height:auto;display:block}
.empty{color:var(--muted);padding:16px 0}
@media (max-width:640px){main{padding:12px}header{padding:0 12px}.rule{flex-direction:column;gap:4px}th.opt,td.opt{display:none}h1{font-size:19px}}
`;

export function page(opts: { title: string; path: string; user: string | null; body: string; project: string }): string {
  const nav = opts.user
    ? `<nav>${NAV.map((n) => `<a href="${n.path}"${n.path === opts.path ? ' class="on" aria-current="page"' : ''}>${esc(n.label)}</a>`).join('')}</nav>
       <div class="who">signed in as ${esc(opts.user === 'token' ? 'access-token holder' : opts.user)}<form method="post" action="/logout" style="display:inline"><button type="submit">Sign out</button></form></div>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(opts.title)} · prodguard · ${esc(opts.project)}</title><style>${CSS}</style></head>
<body><header><div class="in"><div class="brand">prodguard<small>${esc(opts.project)}</small></div>${nav}</div></header>
<main>${opts.body}</main></body></html>`;
}

export function pill(state: string, text: string = state): string {
  return `<span class="pill ${esc(state)}">${esc(text)}</span>`;
}

export function tableOf(headers: Array<string | { label: string; cls?: string }>, rows: string[][], emptyText: string): string {
  if (!rows.length) return `<p class="empty">${esc(emptyText)}</p>`;
  const hs = headers.map((h) => (typeof h === 'string' ? { label: h } : h));
  return `<div class="scroll"><table><thead><tr>${hs.map((h) => `<th${h.cls ? ` class="${h.cls}"` : ''}>${esc(h.label)}</th>`).join('')}</tr></thead>
<tbody>${rows.map((r) => `<tr>${r.map((c, i) => `<td${hs[i]?.cls ? ` class="${hs[i].cls}"` : ''}>${c}</td>`).join('')}</tr>`).join('')}</tbody></table></div>`;
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const ms = now - Date.parse(iso);
  if (ms < 0) return 'just now';
  const m = ms / 60_000;
  if (m < 1) return 'just now';
  if (m < 60) return `${Math.round(m)} min ago`;
  const h = m / 60;
  if (h < 48) return `${h.toFixed(h < 10 ? 1 : 0)} h ago`;
  return `${Math.round(h / 24)} days ago`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `<time datetime="${esc(iso)}" title="${esc(iso)}">${esc(iso.replace('T', ' ').slice(0, 16))} UTC</time>`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const u = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${u[i]}`;
}

export function seconds(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;
}
