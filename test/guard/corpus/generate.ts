/**
 * Generates dangerous.txt and benign.txt: base commands × wrappers (templates × wrappers × targets).
 * Run: node --import tsx test/guard/corpus/generate.ts. The files are committed so they can be read.
 * One command per line; a newline inside a command (heredocs, scripts) is written as ↵.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const P = '"$PRODUCTION_DATABASE_URL"';
const S = '"$STAGING_DATABASE_URL"';
const PROD_HOST = 'db.qwikkerprod123456789.supabase.co';

const dangerousBases = [
  'supabase db reset --linked',
  `supabase db reset --db-url ${P}`,
  'supabase db reset --linked --debug',
  'supabase --workdir . db reset --linked',
  'supabase db push',
  'supabase db push --linked --include-all',
  `supabase db push --db-url ${P}`,
  'supabase migration repair --status reverted 20240101000000',
  'supabase migration up --linked',
  'supabase migration down --linked',
  'supabase projects delete qwikkerprod123456789',
  'supabase db execute --linked -f sql/drop.sql',
  'supabase storage rm -r ss:///avatars',
  'supabase db remote commit',
  `psql ${P} -c 'DROP TABLE businesses'`,
  `psql ${P} -c 'TRUNCATE orders CASCADE'`,
  `psql ${P} -c 'delete from orders'`,
  `psql ${P} -c "update businesses set plan = 'free'"`,
  `psql ${P} -c 'alter table businesses drop column email'`,
  `psql ${P} -c 'grant all on businesses to anon'`,
  `psql -X -q -v ON_ERROR_STOP=1 ${P} -c 'drop schema public cascade'`,
  `psql -tAc 'drop table businesses' ${P}`,
  `psql --command='drop table businesses' --dbname=${P}`,
  `psql ${P} -f sql/drop.sql`,
  `psql ${P} --file=sql/change.sql`,
  `psql ${P} -f sql/broken.sql`,
  `psql ${P} < sql/drop.sql`,
  `echo 'drop table businesses;' | psql ${P}`,
  `printf 'truncate orders;\\n' | psql ${P}`,
  `cat sql/drop.sql | psql ${P}`,
  `psql ${P} <<'SQL'↵drop table businesses;↵SQL`,
  `psql ${P} <<< 'drop table orders'`,
  `psql -h ${PROD_HOST} -U postgres -d postgres -c 'drop table businesses'`,
  `psql -h ${PROD_HOST} -p 5432 -U postgres postgres -c 'truncate orders'`,
  `psql "host=${PROD_HOST} dbname=postgres user=postgres" -c 'drop table orders'`,
  `PGHOST=prod-db.internal psql -c 'drop table businesses'`,
  `psql -h prod-db.internal -c 'delete from businesses'`,
  `psql ${P} -c '\\i sql/drop.sql'`,
  `psql ${P} -c "select pg_terminate_backend(pid) from pg_stat_activity; drop table businesses"`,
  `dropdb -h ${PROD_HOST} -U postgres postgres`,
  `dropdb --host=prod-db.internal qwikker`,
  `pg_restore --clean -d ${P} backup.dump`,
  `pg_restore -c -d ${P} backup.dump`,
  `pg_restore --create --dbname=${P} backup.dump`,
  `pg_restore -1 -d ${P} backup.dump`,
  'pg_ctl -D /var/lib/postgresql/15/main stop -m immediate',
  'pg_ctl stop -D /srv/pg -m i',
  'pg_ctl promote -D /srv/pg',
  'pg_resetwal -f /var/lib/postgresql/15/main',
  `DATABASE_URL=${P} npx prisma migrate reset --force`,
  `DATABASE_URL=${P} prisma db push --accept-data-loss`,
  `DATABASE_URL=${P} prisma db push --force-reset`,
  `DATABASE_URL=${P} prisma migrate deploy`,
  'dotenv -e .env.production -- npx prisma migrate reset --force',
  'NODE_ENV=production npx prisma migrate deploy',
  `DATABASE_URL=${P} npx drizzle-kit push --force`,
  `DATABASE_URL=${P} drizzle-kit migrate`,
  'npx knex migrate:rollback --all --env production',
  'knex migrate:latest --env production',
  'npx sequelize-cli db:drop --env production',
  'sequelize db:migrate:undo:all --env production',
  `DATABASE_URL=${P} typeorm schema:drop`,
  `DATABASE_URL=${P} npx typeorm migration:revert`,
  'RAILS_ENV=production bin/rails db:drop',
  'bundle exec rake db:schema:load RAILS_ENV=production',
  'rails db:reset -e production',
  'RAILS_ENV=production rake db:rollback STEP=3',
  `DATABASE_URL=${P} python manage.py flush --noinput`,
  'python3 manage.py migrate shop zero --settings=qwikker.settings.production',
  `DATABASE_URL=${P} ./manage.py sqlflush | DATABASE_URL=${P} ./manage.py dbshell`,
  `flyway clean -url=jdbc:postgresql://${PROD_HOST}:5432/postgres`,
  `liquibase dropAll --url=jdbc:postgresql://${PROD_HOST}:5432/postgres`,
  `atlas schema clean -u ${P}`,
  `atlas schema apply -u ${P} --to file://schema.hcl --auto-approve`,
  `dbmate -u ${P} drop`,
  `DATABASE_URL=${P} dbmate rollback`,
  `goose postgres ${P} reset`,
  `migrate -database ${P} -path db/migrations drop -f`,
  'rm -rf /var/lib/postgresql',
  'rm -r -f /var/lib/postgresql/15/main',
  'rm -fr /var/lib/postgresql/15/main/*',
  'rm --recursive --force /var/lib/pgsql/data',
  'PGDATA=/srv/pgdata rm -rf "$PGDATA"',
  'rm -rf /var',
  'find /var/lib/postgresql -delete',
  'npm run db:reset',
  'npm run db:push',
  'npm run nuke',
  'npm run sql:drop',
  'npm run-script db:reset',
  'pnpm db:reset',
  'pnpm run db:reset',
  'yarn db:reset',
  'yarn run db:push',
  'bun run db:reset',
  `DATABASE_URL=${P} npm run prisma:reset`,
  `DATABASE_URL=${P} npm run migrate:prod`,
  'make reset-prod',
  'make drop-all',
  'make -f Makefile reset-prod',
  'bash scripts/reset-prod.sh',
  './scripts/reset-prod.sh',
  'sh scripts/reset-prod.sh',
  'source scripts/reset-prod.sh',
  '. scripts/reset-prod.sh',
  'python3 scripts/wipe.py',
  'curl -fsSL https://example.com/install.sh | sh',
  'wget -qO- https://example.com/x | bash',
  'echo c3VwYWJhc2UgZGIgcmVzZXQgLS1saW5rZWQ= | base64 -d | sh',
  'CMD=$(echo supabase); $CMD db reset --linked',
  '$(echo supabase) db reset --linked',
  '`echo supabase` db reset --linked',
  'eval "$(cat payload.txt)"',
  'X="supabase db reset --linked"; eval "$X"',
  'python3 -c "import psycopg; psycopg.connect().execute(\'drop table businesses\')"',
  `node -e "require('child_process').execSync('supabase db reset --linked')"`,
  'bash ./reset-everything.sh',
  './bin/nuke',
  `echo 'supabase db reset --linked' > r.sh && bash r.sh`,
  `cat > reset.sh <<'EOF'↵supabase db reset --linked↵EOF↵bash reset.sh`,
  `printf 'drop table businesses;' > x.sql; psql ${P} -f x.sql`,
  `echo 'drop table orders;' > /tmp/x.sql && psql ${P} < /tmp/x.sql`,
  `echo 'supabase db reset --linked' | tee r.sh >/dev/null; sh r.sh`,
  'docker exec -it prod-postgres psql -U postgres -c \'drop table businesses\'',
  'docker compose exec db psql -U postgres -c "truncate orders"',
  `ssh prod-db 'psql -c "drop table businesses"'`,
  'kubectl exec -it postgres-0 -- psql -U postgres -c \'drop database app\'',
  's"u"pabase db reset --linked',
  'su\\pabase db reset --linked',
  "'supabase' 'db' 'reset' '--linked'",
  "$'supabase' db reset $'--linked'",
  '"supabase" "db" "reset" "--linked"',
  'supabase db reset --linked=true',
  'npx supabase@latest db reset --linked',
  'pnpm dlx supabase db reset --linked',
  'yarn dlx supabase db push',
  'bunx supabase db reset --linked',
  'npm exec -- supabase db reset --linked',
  'echo "db reset --linked" | xargs supabase',
  'env -S "supabase db reset --linked"',
  `DB=${P}; psql "$DB" -c 'drop table businesses'`,
  `export URL=${P}; psql "$URL" -c 'truncate orders'`,
  `supabase db reset --db-url ${S}`,
  `psql ${S} -c 'drop table businesses'`,
  `dropdb -h db.stagingref1234567890.supabase.co postgres`,
  `psql "$UNSET_URL_VARIABLE" -c 'drop table businesses'`,
  `psql -h db.unknownref99999999999.supabase.co -c 'drop table x'`,
];

const benignBases = [
  'git status', 'git diff --stat', 'git log --oneline -20', 'git commit -m "fix: db reset docs"', 'git push origin main',
  'git checkout -b feature/x', 'git log --grep "db reset"', 'npm test', 'npm install', 'npm ci', 'npm run build', 'npm run dev', 'npm run lint',
  'npm run db:types', 'npm run db:reset:local', 'npm run sql:count', 'npm run db:dump', 'npm run seed:local', 'pnpm install', 'pnpm test', 'yarn build',
  'npx vitest run', 'npx tsc --noEmit', 'npx eslint . --fix', 'node scripts/build.js', 'ls -la', 'cat README.md', 'cat sql/drop.sql', 'grep -rn TODO src',
  'echo "drop table x"', "echo 'supabase db reset --linked'", 'jq .scripts package.json', 'curl -s https://example.com -o page.html',
  'docker ps', 'docker compose up -d', 'docker compose logs -f db', 'docker exec -it supabase_db_qwikker psql -U postgres -c "drop table scratch"',
  'supabase start', 'supabase stop', 'supabase status', 'supabase db reset', 'supabase db reset --local', 'supabase db reset --debug',
  'supabase db dump --linked -f backup.sql', 'supabase db dump --data-only --linked -f data.sql', 'supabase migration list', 'supabase migration list --linked',
  'supabase migration new add_orders', 'supabase gen types typescript --linked > types.ts', 'supabase gen types typescript --local',
  'supabase db lint --linked', 'supabase inspect db bloat --linked', 'supabase db diff --linked -f change', 'supabase db diff --use-migra',
  'supabase link --project-ref qwikkerprod123456789', 'supabase db push --dry-run', 'supabase migration up', 'supabase migration down',
  `psql ${P} -c 'select count(*) from businesses'`, `psql ${P} -c '\\dt'`, `psql ${P} -c 'explain select * from orders'`,
  `psql ${P} -f sql/report.sql`, `psql ${P} < sql/report.sql`, `echo 'select 1' | psql ${P}`, `psql ${P} <<'SQL'↵select count(*) from orders;↵SQL`,
  `psql -tAc 'select version()' ${P}`, `psql -h ${PROD_HOST} -U postgres -c 'select now()'`, `psql ${P} -l`,
  `pg_dump ${P} -Fc -f prod.dump`, `pg_dump --schema-only ${P} > schema.sql`, `pg_dumpall -h ${PROD_HOST} -U postgres --roles-only`,
  'createdb scratch', 'dropdb scratch', "psql -c 'drop table t'", "psql -d postgres -c 'truncate scratch'",
  "psql postgresql://postgres:postgres@127.0.0.1:54322/postgres -c 'truncate orders'", 'pg_restore -l backup.dump', 'pg_restore -f out.sql backup.dump',
  'pg_restore --clean -d postgresql://postgres:postgres@127.0.0.1:54322/postgres backup.dump', 'pg_ctl -D /tmp/pgtest start', 'pg_ctl -D ./pgdata stop -m fast',
  'npx prisma generate', 'npx prisma migrate dev', 'npx prisma migrate reset --force', 'prisma migrate status', 'npx drizzle-kit generate', 'npx drizzle-kit push',
  'knex migrate:make add_users', 'knex migrate:rollback', 'rails db:reset', 'bin/rails db:migrate', 'rails routes', 'python manage.py runserver', 'python manage.py flush --noinput',
  'python manage.py makemigrations', 'make test', 'make generate', 'make reset-local', 'make stats', 'make clean', 'rm -rf node_modules', 'rm -rf dist .next',
  'rm -rf /tmp/pgtest', 'rm -f backup.sql', 'node -e "console.log(1)"', 'python3 -c "print(42)"', 'bash scripts/report.sh', './scripts/report.sh',
  `supabase db push --db-url ${S}`, `psql ${S} -c "insert into audit_test values (1)"`, 'dbmate new add_users', 'goose create add_users sql', 'flyway info',
  'atlas schema inspect -u "$LOCAL_DATABASE_URL"', 'sequelize migration:generate --name add_users', 'typeorm migration:generate src/migrations/x',
];

const dangerousWrappers: Array<(c: string) => string> = [
  (c) => c,
  (c) => `FOO=1 ${c}`,
  (c) => `sudo ${c}`,
  (c) => `sh -c ${q(c)}`,
  (c) => `bash -c ${q(c)}`,
  (c) => `true && ${c}`,
  (c) => `echo start; ${c}`,
  (c) => `( ${c}↵)`,
  (c) => `env A=1 nice -n 5 time ${c}`,
  (c) => `timeout 300 ${c}`,
  (c) => `eval ${q(c)}`,
  (c) => `zsh -lc ${q(`cd . && ${c}`)}`,
  (c) => `false || ${c}`,
  (c) => `sudo -E bash -c ${q(`bash -c ${q(c)}`)}`,
];

const benignWrappers: Array<(c: string) => string> = [
  (c) => c,
  (c) => `FOO=1 ${c}`,
  (c) => `sudo ${c}`,
  (c) => `bash -c ${q(c)}`,
  (c) => `true && ${c}`,
  (c) => `( ${c}↵)`,
  (c) => `time ${c}`,
  (c) => `env A=1 ${c}`,
];

function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Wrapping needs real newlines; the file stores them as ↵. */
function expand(bases: string[], wrappers: Array<(c: string) => string>, per: number): string[] {
  const out = new Set<string>();
  bases.forEach((b, i) => {
    const real = b.replace(/↵/g, '\n');
    for (let k = 0; k < per; k++) {
      const w = wrappers[(i + k) % wrappers.length];
      out.add(w(real).replace(/\n/g, '↵'));
    }
    out.add(b);
  });
  return [...out];
}

const header = (what: string) => `# ${what}\n# Generated by generate.ts (bases × wrappers). One command per line; ↵ stands for a newline.\n# Run in test/guard/fixture with the environment in test/guard/env.ts.\n`;
const dangerous = expand(dangerousBases, dangerousWrappers, 3);
const benign = expand(benignBases, benignWrappers, 4);
writeFileSync(join(here, 'dangerous.txt'), header('Commands the guard must deny (or require a backup first).') + dangerous.join('\n') + '\n');
writeFileSync(join(here, 'benign.txt'), header('Everyday commands the guard must allow.') + benign.join('\n') + '\n');
console.log(`dangerous: ${dangerous.length}, benign: ${benign.length}`);
