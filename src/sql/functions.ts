/**
 * What prodguard knows about PostgreSQL functions. A statement is `read` only if every function
 * it calls is on READ_ONLY_FUNCTIONS: built-ins of pg_catalog that neither write data, take
 * locks, change settings nor act on other sessions. Everything else — sequences, advisory locks,
 * large objects, dblink, set_config, and every user-defined function — is at least a write,
 * because a function body can do anything. The list errs on the side of "not read": a missing
 * entry costs a false alarm, an extra one would be a leak.
 */

import { CATALOGUE_READ_ONLY } from './function-catalogue.js';
import { CATALOGUE_DENY } from './function-deny.js';

const list = (s: string): string[] => s.trim().split(/\s+/);

/**
 * Volatile built-ins that are nonetheless read-only, reviewed by hand: pg_proc calls them
 * volatile because their result changes between calls (clocks, random numbers, sizes, the
 * sequence's current value), not because they write. Everything volatile not named here is not
 * read-only. Large objects: reading one (loread, lo_get) and moving or closing a descriptor of
 * this transaction only read; opening one (lo_open) stays a write even for reading — its verdict
 * would hang on the mode constant, and the gateway caches lone SELECTs' verdicts by shape,
 * constants aside — as do creating, writing, truncating, importing, exporting or unlinking one.
 */
export const VOLATILE_READ_ONLY: ReadonlySet<string> = new Set(
  list(`clock_timestamp timeofday random setseed gen_random_uuid currval lastval current_query
  pg_sequence_last_value pg_stat_have_stats pg_stat_clear_snapshot pg_xact_commit_timestamp
  pg_xact_commit_timestamp_origin pg_xact_status txid_status pg_is_in_recovery pg_current_wal_lsn
  pg_current_wal_insert_lsn pg_current_wal_flush_lsn pg_last_wal_receive_lsn pg_last_wal_replay_lsn
  pg_last_xact_replay_timestamp pg_last_committed_xact pg_lock_status pg_blocking_pids
  pg_safe_snapshot_blocking_pids pg_isolation_test_session_is_blocked pg_control_checkpoint pg_control_init
  pg_control_recovery pg_control_system pg_jit_available pg_notification_queue_usage pg_partition_ancestors
  pg_partition_tree pg_relation_size pg_table_size pg_indexes_size pg_total_relation_size pg_database_size
  pg_tablespace_size pg_is_wal_replay_paused pg_get_wal_replay_pause_state pg_collation_actual_version
  pg_database_collation_actual_version pg_get_multixact_members pg_get_shmem_allocations
  pg_get_wal_resource_managers pg_prepared_xact pg_show_replication_origin_status pg_current_logfile
  pg_stat_force_next_flush loread lo_get lo_tell lo_tell64 lo_lseek lo_lseek64 lo_close`),
);

export const READ_ONLY_FUNCTIONS: ReadonlySet<string> = new Set(
  list(`
  count sum avg min max array_agg string_agg bool_and bool_or every bit_and bit_or bit_xor
  stddev stddev_pop stddev_samp variance var_pop var_samp corr covar_pop covar_samp
  regr_avgx regr_avgy regr_count regr_intercept regr_r2 regr_slope regr_sxx regr_sxy regr_syy
  percentile_cont percentile_disc mode rank dense_rank percent_rank cume_dist row_number ntile
  lag lead first_value last_value nth_value xmlagg range_agg range_intersect_agg any_value
  lower upper initcap length char_length character_length octet_length bit_length substr substring
  position strpos trim btrim ltrim rtrim lpad rpad replace translate concat concat_ws format left right
  repeat reverse split_part string_to_array string_to_table array_to_string regexp_replace regexp_match
  regexp_matches regexp_split_to_array regexp_split_to_table regexp_like regexp_count regexp_instr
  regexp_substr md5 sha224 sha256 sha384 sha512 encode decode to_hex ascii chr quote_ident quote_literal
  quote_nullable starts_with overlay normalize unistr to_char to_number to_date to_timestamp convert
  convert_from convert_to parse_ident hashtext hashtextextended crc32 crc32c get_byte get_bit set_byte set_bit
  abs ceil ceiling floor round trunc sign sqrt cbrt power pow exp ln log log10 mod div pi degrees radians
  sin cos tan cot asin acos atan atan2 sind cosd tand cotd asind acosd atand atan2d sinh cosh tanh asinh
  acosh atanh gcd lcm factorial width_bucket scale min_scale trim_scale random random_normal
  gen_random_uuid erf erfc
  now clock_timestamp statement_timestamp transaction_timestamp timeofday date_trunc date_part extract
  age make_date make_time make_timestamp make_timestamptz make_interval justify_days justify_hours
  justify_interval isfinite date_bin timezone overlaps
  row_to_json array_to_json to_json to_jsonb to_tsvector to_tsquery plainto_tsquery phraseto_tsquery
  websearch_to_tsquery ts_rank ts_rank_cd ts_headline setweight strip numnode querytree ts_lexize
  array_length array_lower array_upper array_dims array_ndims cardinality unnest array_append array_prepend
  array_cat array_position array_positions array_remove array_replace array_fill generate_series
  generate_subscripts trim_array array_reverse array_sort
  num_nonnulls num_nulls
  isempty lower_inc upper_inc lower_inf upper_inf range_merge int4range int8range numrange tsrange tstzrange daterange
  host hostmask masklen netmask network broadcast family abbrev set_masklen inet_merge inet_same_family
  version current_setting current_database current_schema current_schemas current_catalog current_role
  current_user session_user inet_server_addr inet_server_port inet_client_addr inet_client_port
  pg_backend_pid pg_postmaster_start_time pg_conf_load_time pg_is_in_recovery pg_last_wal_receive_lsn
  pg_last_wal_replay_lsn pg_last_xact_replay_timestamp pg_current_wal_lsn pg_current_wal_insert_lsn
  pg_current_wal_flush_lsn pg_wal_lsn_diff pg_walfile_name
  pg_size_pretty pg_size_bytes pg_database_size pg_relation_size pg_total_relation_size pg_table_size
  pg_indexes_size pg_tablespace_size pg_column_size pg_column_compression pg_relation_filenode pg_relation_filepath
  pg_get_viewdef pg_get_indexdef pg_get_constraintdef pg_get_functiondef pg_get_function_arguments
  pg_get_function_result pg_get_function_identity_arguments pg_get_triggerdef pg_get_ruledef pg_get_expr
  pg_get_userbyid pg_get_serial_sequence pg_get_keywords pg_get_statisticsobjdef pg_get_partkeydef
  pg_get_partition_constraintdef pg_get_replica_identity_index pg_typeof format_type obj_description
  col_description shobj_description
  has_table_privilege has_column_privilege has_schema_privilege has_database_privilege has_function_privilege
  has_sequence_privilege has_any_column_privilege has_type_privilege has_foreign_data_wrapper_privilege
  has_server_privilege has_tablespace_privilege has_language_privilege has_parameter_privilege pg_has_role
  row_security_active pg_table_is_visible pg_type_is_visible pg_function_is_visible pg_operator_is_visible
  pg_opclass_is_visible pg_opfamily_is_visible pg_collation_is_visible pg_conversion_is_visible
  pg_statistics_obj_is_visible pg_ts_config_is_visible pg_ts_dict_is_visible pg_ts_parser_is_visible
  pg_ts_template_is_visible pg_is_other_temp_schema pg_my_temp_schema
  to_regclass to_regproc to_regprocedure to_regtype to_regtypemod to_regrole to_regnamespace to_regoper
  to_regoperator to_regcollation
  pg_blocking_pids pg_safe_snapshot_blocking_pids pg_current_xact_id_if_assigned pg_xact_status
  pg_jit_available pg_listening_channels pg_notification_queue_usage pg_trigger_depth
  pg_encoding_to_char pg_char_to_encoding pg_client_encoding pg_tablespace_location pg_tablespace_databases
  pg_options_to_table pg_get_object_address pg_identify_object pg_identify_object_as_address pg_describe_object
  pg_index_column_has_property pg_index_has_property pg_indexam_has_property pg_input_is_valid pg_input_error_info
  pg_column_is_updatable pg_relation_is_updatable pg_get_backend_memory_contexts pg_settings_get_flags
  pg_stat_get_activity pg_lock_status pg_show_all_settings pg_stat_get_backend_idset pg_postmaster_start_time
  pg_is_wal_replay_paused pg_get_wal_replay_pause_state pg_control_system pg_control_checkpoint
  pg_control_recovery pg_control_init pg_get_catalog_foreign_keys
  txid_current_if_assigned txid_status txid_current_snapshot txid_snapshot_xmin txid_snapshot_xmax
  pg_current_snapshot pg_snapshot_xmin pg_snapshot_xmax
  text varchar bpchar int2 int4 int8 float4 float8 numeric bool date time timetz timestamp timestamptz interval
  inet cidr macaddr uuid bytea name oid regclass json jsonb xml point line lseg box path polygon circle
  area center diameter radius height width npoints isclosed isopen pclose popen bound_box
  xmlparse xmlserialize xpath xpath_exists xml_is_well_formed xmlconcat xmlcomment xmltext
  pg_partition_tree pg_partition_ancestors pg_partition_root pg_mcv_list_items nummultirange int4multirange
  int8multirange datemultirange tsmultirange tstzmultirange multirange unnest_multirange range_agg
  ts_debug ts_parse ts_token_type ts_filter ts_delete get_current_ts_config array_to_tsvector tsvector_to_array
  `),
);

/** Functions that kill other sessions or destroy server-side state: `destructive`. */
export const DESTRUCTIVE_FUNCTIONS: ReadonlySet<string> = new Set(
  list(`pg_terminate_backend pg_cancel_backend lo_unlink pg_drop_replication_slot pg_replication_origin_drop
  pg_truncate_visibility_map pg_stat_reset pg_stat_reset_shared pg_stat_reset_single_table_counters
  pg_stat_reset_single_function_counters pg_stat_reset_slru pg_stat_reset_replication_slot
  pg_stat_reset_subscription_stats pg_promote pg_file_unlink pg_file_write`),
);

/** Settings whose change weakens a read-only or identity guarantee: setting them is `privilege`. */
export const PRIVILEGE_SETTINGS: ReadonlySet<string> = new Set(
  list(`role session_authorization default_transaction_read_only transaction_read_only session_replication_role
  row_security default_transaction_isolation`),
);

/**
 * Built-ins whose name family is entirely read-only (all json/jsonb functions compute values;
 * none write). Checked by prefix of the parsed function name, after the exact list. Not `ts_`:
 * ts_stat() and ts_rewrite() run the query text they are given.
 */
const READ_ONLY_PREFIXES = ['json_', 'jsonb_', 'pg_stat_get_', 'pg_get_', 'has_'];

/** Splits a parsed function name (list of String nodes) into schema and name. */
export function functionName(parts: string[]): { schema?: string; name: string } {
  const name = parts[parts.length - 1].toLowerCase();
  const schema = parts.length > 1 ? parts[parts.length - 2].toLowerCase() : undefined;
  return { schema, name };
}

/** True when the call is a known read-only built-in (unqualified or pg_catalog-qualified). */
export function isReadOnlyFunction(parts: string[]): boolean {
  const { schema, name } = functionName(parts);
  if (schema !== undefined && schema !== 'pg_catalog') return false;
  if (READ_ONLY_FUNCTIONS.has(name) || VOLATILE_READ_ONLY.has(name)) return true;
  if (CATALOGUE_READ_ONLY.has(name) && !CATALOGUE_DENY.has(name)) return true;
  // ts_ and has_ families contain only readers in pg_catalog; json(b)_ likewise.
  return READ_ONLY_PREFIXES.some((p) => name.startsWith(p));
}

export function isDestructiveFunction(parts: string[]): boolean {
  const { schema, name } = functionName(parts);
  return (schema === undefined || schema === 'pg_catalog') && DESTRUCTIVE_FUNCTIONS.has(name);
}
