/**
 * The reviewed deny-list for the generated function catalogue (scripts/gen-function-catalogue.ts):
 * pg_catalog functions that pg_proc declares IMMUTABLE or STABLE but that must not count as
 * read-only, each with the reason. Reviewed against PostgreSQL 15's pg_proc; a name here stays
 * out of the catalogue even if a later major declares it non-volatile. Volatile dangerous
 * functions (pg_terminate_backend, set_config, lo_*, pg_read_file, dblink, …) never reach the
 * catalogue in the first place, because only non-volatile functions are taken.
 */
const DENY: Record<string, string> = {
  // Assign a transaction ID: a write to the commit log that a read-only replica refuses.
  txid_current: 'assigns a transaction ID',
  pg_current_xact_id: 'assigns a transaction ID',
  // Validators dlopen() the shared library a function points at: code execution in the server.
  fmgr_c_validator: 'loads a shared library into the server',
  fmgr_internal_validator: 'validates internal functions (not for callers)',
  fmgr_sql_validator: 'parses and checks a function body (not for callers)',
  // Dictionary initialisers read files from the server's tsearch_data directory.
  dispell_init: 'reads dictionary files on the server',
  thesaurus_init: 'reads dictionary files on the server',
  dsynonym_init: 'reads dictionary files on the server',
  dsimple_init: 'reads dictionary files on the server',
  // Run a domain's CHECK constraints, which may call any (volatile, user-defined) function.
  domain_in: "runs a domain's CHECK expressions",
  domain_recv: "runs a domain's CHECK expressions",
  // Dump whole schemas/databases in one call: a read, but one that exports everything at once.
  database_to_xml: 'exports every table of the database',
  database_to_xml_and_xmlschema: 'exports every table of the database',
  schema_to_xml: 'exports every table of a schema',
  schema_to_xml_and_xmlschema: 'exports every table of a schema',
};

export const CATALOGUE_DENY: ReadonlySet<string> = new Set(Object.keys(DENY));
