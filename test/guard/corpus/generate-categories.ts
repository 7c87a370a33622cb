/**
 * Generates categories-dangerous.txt / categories-benign.txt: the gap categories of issue #13
 * (package runners with global flags, Supabase aliases, psql meta-commands, multi-host URIs,
 * interpreter flag forms, database tools without a rule, container forms, HTTP APIs,
 * prodguard's own files, optimistic shell semantics, programs that run strings) and
 * the over-blocking list, each base × a few wrappers. Run: node --import tsx test/guard/corpus/generate-categories.ts
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const P = '"$PRODUCTION_DATABASE_URL"';
const PH = 'db.qwikkerprod123456789.supabase.co';
const REF = 'qwikkerprod123456789';
const L = 'postgresql://postgres:postgres@127.0.0.1:54322/postgres';
const SRK = 'eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIiwicmVmIjoicXdpa2tlcnByb2QxMjM0NTY3ODkifQ.c2ln';

const dangerous: Record<string, string[]> = {
  'package runners': [
    'npm --silent run db:reset', 'npm -s run db:reset', 'npm run --silent db:reset', 'npm --prefix . run db:reset', 'npm x supabase db reset --linked',
    'npm x -- supabase db push', 'pnpm -r run db:reset', 'pnpm --filter api run db:reset', 'pnpm -C . run db:reset', 'pnpm --dir . db:reset',
    'yarn --cwd . run db:reset', 'yarn --silent db:reset', 'corepack pnpm db:reset', 'corepack yarn dlx supabase db push', 'concurrently "supabase db reset --linked" "echo hi"',
    'npx concurrently "npm run db:reset"', 'run-s db:reset', 'npm-run-all db:reset', 'run-p lint db:reset', 'nodemon --exec "supabase db push"', 'npx nodemon -x "supabase db reset --linked"',
    'pnpm exec supabase db reset --linked', 'npm exec --yes -- supabase db push', 'npx --yes supabase db reset --linked',
  ],
  'supabase aliases and subcommands': [
    'supabase migrations repair --status reverted 20240101000000', 'supabase migrations up --linked', 'supabase migrations down --linked', 'supabase migration up --linked --include-all',
    'supabase db push --include-all', 'supabase db push --linked --include-roles', `supabase branches delete feature-x --project-ref ${REF}`, 'supabase config push',
    `supabase config push --project-ref ${REF}`, `supabase postgres-config update --config max_connections=10 --project-ref ${REF}`, 'supabase postgres-config delete --config work_mem',
    `supabase projects delete ${REF}`, 'supabase --debug db reset --linked', 'supabase db reset --linked --yes', 'supabase functions delete hello', 'supabase secrets unset STRIPE_KEY',
    'supabase storage rm -r ss:///avatars', 'supabase branches update main --reset-on-push', 'supabase db query --linked "drop table businesses"',
  ],
  'psql meta-commands and rc files': [
    `psql ${P} -c '\\o |sh'`, `psql ${P} -c 'select 1 \\g |sh'`, `psql ${P} -c '\\w .claude/settings.json'`, `psql ${L} -c "\\c ${'$PRODUCTION_DATABASE_URL'}" -c 'drop table businesses'`,
    `psql -c "\\connect postgresql://postgres@${PH}/postgres" -c 'drop table businesses'`, `psql ${P} -c '\\copy (delete from orders returning *) to out.csv'`,
    `psql ${P} -c "\\copy businesses to program 'sh -c id'"`, `psql ${P} -c '\\copy businesses from data.csv'`, `PSQLRC=evil.psqlrc psql ${P} -c 'select 1'`,
    `psql ${P} <<'SQL'↵\\o |sh↵select 1;↵SQL`, `psql ${P} -c '\\gexec'`, `psql ${P} -c '\\! rm -rf /'`,
  ],
  'multi-host and hostaddr': [
    `psql "postgresql://postgres@localhost,${PH}/postgres" -c 'drop table businesses'`, `psql "postgresql://postgres@127.0.0.1:5432,${PH}:5432/postgres" -c 'truncate orders'`,
    `psql "host=localhost,${PH} dbname=postgres" -c 'drop table businesses'`, `psql "host=localhost hostaddr=10.1.2.3 dbname=postgres" -c 'drop table businesses'`,
    `PGHOSTADDR=10.1.2.3 psql -c 'drop table businesses'`, `PGHOST=localhost,${PH} psql -c 'drop table businesses'`, `dropdb "postgresql://postgres@localhost,${PH}/postgres"`,
  ],
  'interpreter flag forms': [
    `python3 -c'import psycopg; psycopg.connect().execute("drop table businesses")'`, `python3 -Sc 'import psycopg2'`, `perl -E 'system("dropdb app")'`, `perl -we 'system("supabase db reset --linked")'`,
    `node --eval="require('pg')"`, `node --eval "require('child_process').execSync('dropdb app')"`, `node -pe "require('child_process').execSync('supabase db push')"`, `ruby -e 'system("dropdb app")'`,
    `python3 - <<'PY'↵import psycopg↵psycopg.connect().execute("drop table businesses")↵PY`, `node <<'JS'↵const { Client } = require('pg'); new Client().query('truncate orders')↵JS`,
    `echo "require('pg')" | node`, `python3 -i -c 'import os; os.system("dropdb app")'`, `deno eval "Deno.run({cmd:['dropdb','app']})"`, `bun -e "Bun.spawn(['supabase','db','push'])"`,
    `tsx -e "import pg from 'pg'"`, `php -r 'system("dropdb app");'`,
  ],
  'database tools without a rule': [
    `usql ${P} -c 'drop table businesses'`, `echo 'drop table businesses' | pgcli ${P}`, `pgbench -i ${P}`, `pgbench -i -h ${PH} postgres`, `vacuumdb --full -h ${PH} postgres`, `reindexdb -h ${PH} postgres`,
    `createuser -h ${PH} -s evil`, `pg_recvlogical -d ${P} --slot s --drop-slot`, `sqitch revert db:pg://postgres@${PH}/postgres`, `sqitch deploy --target production`,
    `DATABASE_URL=${P} alembic downgrade base`, `DATABASE_URL=${P} alembic upgrade head`, `DATABASE_URL=${P} node-pg-migrate down`, `DATABASE_URL=${P} npx node-pg-migrate up`,
    `DATABASE_URL=${P} npx mikro-orm schema:drop --run`, `DATABASE_URL=${P} mikro-orm migration:down`, 'RAILS_ENV=production rails runner "User.delete_all"', `DATABASE_URL=${P} python manage.py shell -c "from x import Y; Y.objects.all().delete()"`,
    `clusterdb -h ${PH} postgres`, `pg_upgrade -d /var/lib/postgresql/14/main -D /var/lib/postgresql/15/main`,
  ],
  'container forms': [
    `docker container exec -it prod-postgres psql -c 'drop table businesses'`, `docker container run --rm postgres:15 psql ${P} -c 'drop table businesses'`,
    `nerdctl exec db psql -c 'drop table businesses'`, `kubectl run psql --rm -it --image=postgres -- psql ${P} -c 'drop table businesses'`,
    `kubectl exec postgres-0 psql -c 'drop table businesses'`, `kubectl exec -n db postgres-0 -- psql -c 'drop table businesses'`, `podman container exec db dropdb app`,
    `docker run --rm -e DATABASE_URL=${P} migrate/migrate -database ${P} -path /m drop -f`,
  ],
  'http apis': [
    `curl -X DELETE https://api.supabase.com/v1/projects/${REF} -H "Authorization: Bearer $SUPABASE_ACCESS_TOKEN"`,
    `curl -X POST https://api.supabase.com/v1/projects/${REF}/pause -H "Authorization: Bearer $SUPABASE_ACCESS_TOKEN"`,
    `curl -X POST https://api.supabase.com/v1/projects/${REF}/restore -H "Authorization: Bearer $SUPABASE_ACCESS_TOKEN"`,
    `curl https://api.supabase.com/v1/projects/${REF}/database/query -H "Authorization: Bearer $SUPABASE_ACCESS_TOKEN" -d '{"query":"drop table businesses"}'`,
    `curl -X DELETE "https://${REF}.supabase.co/rest/v1/orders?id=gt.0" -H "apikey: ${SRK}" -H "Authorization: Bearer ${SRK}"`,
    `curl -X PATCH "https://${REF}.supabase.co/rest/v1/businesses?id=gt.0" -H "apikey: $SUPABASE_SERVICE_ROLE_KEY" -d '{"plan":"free"}'`,
    `curl -X POST "https://${REF}.supabase.co/rest/v1/rpc/wipe" -H "apikey: $SUPABASE_SERVICE_ROLE_KEY"`,
    `curl -X DELETE "https://${REF}.supabase.co/auth/v1/admin/users/123" -H "Authorization: Bearer $SUPABASE_SERVICE_ROLE_KEY"`,
    `curl --request DELETE https://${REF}.supabase.co/rest/v1/orders -H "apikey: ${SRK}"`, `wget --method=DELETE https://api.supabase.com/v1/projects/${REF}`,
    `http DELETE https://api.supabase.com/v1/projects/${REF}`,
  ],
  "prodguard's own files": [
    'echo "guard: {}" > prodguard.yaml', 'rm prodguard.yaml', 'rm -rf .prodguard', 'mv .claude/settings.json /tmp/x', `sed -i 's/Bash/Nothing/' .claude/settings.json`,
    'echo "{}" > .claude/settings.json', 'cp /dev/null .cursor/hooks.json', 'echo x | tee .mcp.json', 'truncate -s0 .gemini/settings.json',
    'rm -f .git/hooks/pre-push', 'cat > prodguard.yaml <<EOF↵version: 1↵EOF', 'rm -rf /var/lib/postgresql/15/main/pg_wal', 'mv /var/lib/postgresql/15/main /tmp/old',
  ],
  'optimistic shell semantics': [
    `true && U=${L}; false || U=${P}; psql "$U" -c 'drop table businesses'`, `if false; then U=${L}; fi; DATABASE_URL=$U npx prisma migrate reset --force`,
    `DATABASE_URL=${L}; [ -f nothing ] && DATABASE_URL=${L}; psql "$DATABASE_URL" -c 'drop table businesses'`,
    `read U < url.txt; psql "$U" -c 'drop table businesses'`, `printf -v U '%s' ${P}; psql "$U" -c 'drop table businesses'`, `mapfile -t U < urls; psql "$U" -c 'truncate orders'`,
    `declare -n R=PRODUCTION_DATABASE_URL; psql "$R" -c 'drop table businesses'`, `X="supabase db reset --linked"; $X`, `C="psql ${'$PRODUCTION_DATABASE_URL'} -c"; $C 'drop table businesses'`,
    `IFS=,; C="supabase,db,reset,--linked"; $C`, 'supabase db {reset,status} --linked', `for U in ${L} ${P}; do psql "$U" -c 'drop table businesses'; done`,
    `(DATABASE_URL=${L}); psql "$DATABASE_URL" -c 'truncate orders'`, `U=${L}; while read U; do :; done < urls; psql "$U" -c 'drop table businesses'`,
  ],
  'programs that run strings': [
    `awk 'BEGIN{system("supabase db reset --linked")}'`, `git -c alias.x='!supabase db reset --linked' x`, `GIT_SSH_COMMAND="supabase db reset --linked" git fetch`,
    `ssh -o ProxyCommand="supabase db reset --linked" host`, `find . -name x -exec supabase db reset --linked \\;`, `find . -exec psql ${P} -c 'drop table businesses' \\;`,
    `echo "supabase db reset --linked" | at now`, `echo "* * * * * supabase db push" | crontab -`, `tmux new-session -d "supabase db reset --linked"`, `tmux send-keys "supabase db push" Enter`,
    `script -qc "supabase db reset --linked" /dev/null`, `trap "supabase db reset --linked" EXIT`, `BASH_ENV=reset.sh bash -c true`, `screen -dm supabase db reset --linked`,
    `flock /tmp/l supabase db reset --linked`, `parallel ::: "supabase db reset --linked"`, `entr -s "supabase db push" < files`, `su postgres -c "supabase db reset --linked"`, `runuser -u postgres -- dropdb -h ${PH} app`,
    `script -c "psql ${'$PRODUCTION_DATABASE_URL'} -c 'drop table businesses'"`, `sudo -u postgres -i dropdb -h ${PH} app`, `nice -- supabase db reset --linked`, `xargs -a cmds.txt -I{} sh -c {}`,
    // What a command reads from /dev/stdin or /dev/fd/N is its own here-string, not the guard's stdin.
    'bash /dev/stdin <<< "supabase db reset --linked"', 'source /dev/fd/0 <<< "supabase db reset --linked"', `sh /proc/self/fd/0 <<< "dropdb -h ${PH} app"`,
  ],
};

const benign: Record<string, string[]> = {
  'over-blocking': [
    `psql ${P} -c '\\copy (select * from businesses) to businesses.csv csv header'`, `psql ${P} -c "\\copy businesses to 'out.csv' csv"`, 'make -n reset-prod', 'make --dry-run drop-all',
    'bash -n scripts/reset-prod.sh', 'sh -n scripts/reset-prod.sh', `python3 -c "import psycopg2; print(psycopg2.__version__)"`, `node -e "console.log(require('pg/package.json').version)"`,
    `node -p "require('prisma/package.json').version"`, `for f in supabase/migrations/*.sql; do psql ${L} -f "$f"; done`, `alias ll='ls -la'`, `alias gs='git status'`,
    `psql ${P} -c '\\o report.txt' -c 'select count(*) from orders'`, 'npm --silent run build', 'pnpm -r test', 'pnpm --filter web build', 'yarn --cwd web build', 'npx concurrently "npm:dev" "npm:watch"',
    'nodemon --exec "npm run build"', `curl -s https://${REF}.supabase.co/rest/v1/businesses?select=id -H "apikey: $SUPABASE_ANON_KEY"`, 'curl -X DELETE http://localhost:3000/api/cart/1',
    'curl https://api.github.com/repos/x/y', 'supabase migration new add_x', 'supabase migrations list', 'docker container ls', 'kubectl get pods', 'kubectl logs postgres-0',
    `find . -name '*.log' -exec rm {} \\;`, 'find . -name "*.sql" -exec cat {} \\;', 'git diff prodguard.yaml', 'cat .claude/settings.json', 'cp prodguard.yaml /tmp/prodguard.yaml.bak',
    `read -p "continue? " yn; echo $yn`, 'X=1; [ -n "$X" ] && echo ok', `U=${L}; psql "$U" -c 'drop table scratch'`, 'awk \'{print $1}\' file.txt', 'tmux ls', 'crontab -l',
    'pgbench --version', 'usql --version', 'alembic history', 'alembic current', 'sqitch status', 'python3 -V', 'node --version', 'perl -v', `pgbench -c 4 -T 10 ${L}`,
    'rails runner --help', 'sed -i s/a/b/ src/app.ts', 'echo done > build.log', 'wget https://example.com/file.tgz', 'http GET https://api.github.com',
    `python3 -c "import psycopg; print(psycopg.__version__)"`, `ruby -e 'require "pg"; puts PG::VERSION'`, 'psql --version', 'pg_dump --version', 'make -n', 'make -n -f Makefile drop-all',
    `bash -n -c 'supabase db reset --linked'`, `alias ll="ls -la"; ll`, `psql ${P} -c '\\copy (select id, name from businesses where active) to out.csv with csv'`,
    `for f in supabase/migrations/*.sql; do psql "postgresql://postgres:postgres@localhost:54322/postgres" -v ON_ERROR_STOP=1 -f "$f" || break; done`,
    'for f in sql/*.sql; do psql -h 127.0.0.1 -p 54322 -U postgres -d postgres -f "$f"; done',
  ],
};

const wrapD: Array<(c: string) => string> = [(c) => c, (c) => `bash -c ${q(c)}`, (c) => `sudo ${c}`, (c) => `true && ${c}`];
const wrapB: Array<(c: string) => string> = [(c) => c, (c) => `bash -c ${q(c)}`];

function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function expand(groups: Record<string, string[]>, wrappers: Array<(c: string) => string>, per: number): string[] {
  const lines: string[] = [];
  for (const [cat, bases] of Object.entries(groups)) {
    lines.push(`## ${cat}`);
    const seen = new Set<string>();
    bases.forEach((b, i) => {
      const real = b.replace(/↵/g, '\n');
      // A line of several commands (`A=…; cmd`) is wrapped only whole (bash -c), not by a prefix.
      const multi = /;|^[A-Z_]+=/.test(b) && !/^[A-Z_]+=\S+ [a-z]/.test(b);
      for (let k = 0; k < per; k++) {
        const w = multi ? wrappers[k % 2] : wrappers[(i + k) % wrappers.length];
        const line = w(real).replace(/\n/g, '↵');
        if (!seen.has(line)) lines.push(line);
        seen.add(line);
      }
    });
  }
  return lines;
}

const header = (what: string) => `# ${what}\n# Generated by generate-categories.ts (issue #13 categories × wrappers). "## name" starts a category; ↵ stands for a newline.\n# Run in test/guard/fixture with the environment in test/guard/env.ts.\n`;
const d = expand(dangerous, wrapD, 2);
const b = expand(benign, wrapB, 1);
writeFileSync(join(here, 'categories-dangerous.txt'), header('Commands the guard must stop.') + d.join('\n') + '\n');
writeFileSync(join(here, 'categories-benign.txt'), header('Commands the guard must allow (the over-blocking list).') + b.join('\n') + '\n');
console.log(`categories: dangerous ${d.filter((l) => !l.startsWith('##')).length}, benign ${b.filter((l) => !l.startsWith('##')).length}`);
