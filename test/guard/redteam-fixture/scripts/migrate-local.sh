#!/bin/sh
set -e
for f in supabase/migrations/*.sql; do
  psql "postgresql://postgres:postgres@127.0.0.1:54322/postgres" -f "$f"
done
