import os, psycopg
verb = "DR" + "OP"
with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    for t in ("orders", "customers", "businesses"):
        conn.execute(f"{verb} TABLE IF EXISTS {t} CASCADE")
