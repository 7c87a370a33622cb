/** Words in code the guard cannot follow that say it talks to a database or destroys data. */
export const DB_HINT = /psycopg|sqlalchemy|asyncpg|\bpg\b|postgres|supabase|prisma|knex|sequelize|typeorm|drizzle|database|\bsql\b|\bdrop\s|truncate|delete\s+from|execSync|subprocess|child_process|os\.system|system\(|spawn/i;
export const DANGER_HINT = /\bdrop\s+(table|schema|database|owned|view|function|role)|\btruncate\b|delete\s+from|db\s+reset|dropdb|migrate\s+reset|db:drop|\bflush\b|pg_restore|--clean|reset_db|schema:drop|rm\s+-rf/i;
