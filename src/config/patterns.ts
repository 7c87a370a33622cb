/** Shapes of values prodguard.yaml holds, shared by the schema and the commands that write the file. */

/** A Supabase project ref: lowercase letters and digits. */
export const SUPABASE_REF = /^[a-z0-9]{6,40}$/;

/** An environment variable name (a URL never goes into prodguard.yaml, only the variable naming it). */
export const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
