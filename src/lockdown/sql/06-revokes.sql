-- prodguard lockdown, part 6: what application roles may not do. TRUNCATE deletes every row
-- without DELETE triggers; TRIGGER and REFERENCES let a role attach code or foreign keys to
-- tables it does not own; CREATE on a schema lets it shadow objects. (An owner keeps every
-- right on what it owns: application roles should not own the tables.)
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
{{per_role_revokes}}
