/*
 * corpus_schema.c: the corpus schema as SQL: the migration steps, one per
 * version (corpus_migrations[v] moves a file from version v to v + 1), and
 * the cached write statements (corpus_stmt_sql). Documented for users in
 * SCHEMA.md; opened and migrated by corpus_open.c, written by
 * corpus_write.c.
 */
#include "corpus/corpus_priv.h"

/* The results table (one row per scheduled request of a run), with the
 * primary key of its schema version, and the view over it; shared by the
 * migrations that create them. */
#define RESULTS_TABLE(primary_key)                                           \
    "CREATE TABLE results (\n"                                               \
    "  run_id INTEGER NOT NULL REFERENCES runs(id),\n"                       \
    "  exchange_id INTEGER NOT NULL REFERENCES exchanges(id),\n"             \
    "  copy INTEGER NOT NULL,\n"                                             \
    "  loop INTEGER NOT NULL,\n"                                             \
    "  scheduled_us INTEGER,\n"                                              \
    "  sent_us INTEGER,\n"                                                   \
    "  first_byte_us INTEGER,\n"                                             \
    "  done_us INTEGER,\n"                                                   \
    "  connect_us INTEGER,\n"                                                \
    "  status INTEGER NOT NULL,\n"                                           \
    "  resp_bytes INTEGER NOT NULL,\n"                                       \
    "  body_hash BLOB,\n"                                                    \
    "  error_class TEXT,\n"                                                  \
    "  error TEXT,\n"                                                        \
    "  " primary_key "\n"                                                    \
    ") WITHOUT ROWID;\n"
#define RESULT_TIMINGS_VIEW \
    "CREATE VIEW result_timings AS SELECT\n"                         \
    "  r.run_id, r.exchange_id, r.copy, r.loop, e.method, e.host,\n" \
    "  CASE WHEN instr(e.target, '?') > 0\n"                         \
    "       THEN substr(e.target, 1, instr(e.target, '?') - 1)\n"    \
    "       ELSE e.target END AS path,\n"                            \
    "  e.target, r.status, r.error_class, r.scheduled_us,\n"         \
    "  r.done_us - r.scheduled_us AS latency_us,\n"                  \
    "  r.done_us - r.sent_us AS service_us,\n"                       \
    "  r.sent_us - r.scheduled_us AS lateness_us,\n"                 \
    "  r.first_byte_us - r.sent_us AS ttfb_us,\n"                    \
    "  r.connect_us, r.resp_bytes\n"                                 \
    "FROM results r JOIN exchanges e ON e.id = r.exchange_id;\n"

/* corpus_migrations[v] moves a corpus from user_version v to v + 1. */
const char *const corpus_migrations[CORPUS_SCHEMA_VERSION] = {
    /* 0 -> 1: the first schema */
    "CREATE TABLE meta (\n"
    "  key TEXT PRIMARY KEY,\n"
    "  value TEXT\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE captures (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  label TEXT,\n"
    "  source TEXT NOT NULL,\n"
    "  filter TEXT,\n"
    "  started_us INTEGER NOT NULL,\n"
    "  ended_us INTEGER,\n"
    "  redacted INTEGER NOT NULL DEFAULT 0,\n"
    "  options TEXT,\n"
    "  stats TEXT,\n"
    "  exchange_count INTEGER,\n"
    "  tool_version TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE connections (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  capture_id INTEGER NOT NULL REFERENCES captures(id),\n"
    "  client_addr TEXT NOT NULL,\n"
    "  client_port INTEGER NOT NULL,\n"
    "  server_addr TEXT NOT NULL,\n"
    "  server_port INTEGER NOT NULL,\n"
    "  first_us INTEGER NOT NULL,\n"
    "  last_us INTEGER\n"
    ");\n"
    "CREATE INDEX connections_by_capture ON connections(capture_id);\n"
    "CREATE TABLE bodies (\n"
    "  hash BLOB PRIMARY KEY,\n"
    "  size_bytes INTEGER NOT NULL,\n"
    "  stored_bytes INTEGER NOT NULL,\n"
    "  data BLOB NOT NULL\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE exchanges (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  capture_id INTEGER NOT NULL REFERENCES captures(id),\n"
    "  connection_id INTEGER REFERENCES connections(id),\n"
    "  seq INTEGER NOT NULL,\n"
    "  method TEXT NOT NULL,\n"
    "  target TEXT NOT NULL,\n"
    "  host TEXT NOT NULL,\n"
    "  version TEXT NOT NULL,\n"
    "  req_first_us INTEGER NOT NULL,\n"
    "  req_last_us INTEGER NOT NULL,\n"
    "  req_headers TEXT,\n"
    "  req_body_hash BLOB REFERENCES bodies(hash),\n"
    "  req_body_stored_bytes INTEGER NOT NULL,\n"
    "  req_body_size_bytes INTEGER NOT NULL,\n"
    "  req_wire_bytes INTEGER NOT NULL,\n"
    "  status INTEGER NOT NULL,\n"
    "  reason TEXT,\n"
    "  interim TEXT,\n"
    "  resp_first_us INTEGER,\n"
    "  resp_last_us INTEGER,\n"
    "  resp_headers TEXT,\n"
    "  resp_body_hash BLOB REFERENCES bodies(hash),\n"
    "  resp_body_stored_bytes INTEGER NOT NULL,\n"
    "  resp_body_size_bytes INTEGER NOT NULL,\n"
    "  resp_wire_bytes INTEGER NOT NULL,\n"
    "  flags INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX exchanges_by_capture_time "
    "ON exchanges(capture_id, req_first_us, id);\n"
    "CREATE TABLE runs (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  capture_id INTEGER REFERENCES captures(id),\n"
    "  label TEXT,\n"
    "  target TEXT NOT NULL,\n"
    "  mode TEXT NOT NULL,\n"
    "  options TEXT,\n"
    "  started_us INTEGER NOT NULL,\n"
    "  ended_us INTEGER,\n"
    "  tool_version TEXT NOT NULL,\n"
    "  status TEXT NOT NULL DEFAULT 'running',\n"
    "  summary TEXT,\n"
    "  result_count INTEGER,\n"
    "  error_count INTEGER\n"
    ");\n"
    "CREATE INDEX runs_by_label ON runs(label, id);\n"
    RESULTS_TABLE("PRIMARY KEY (run_id, exchange_id, copy, loop)")
    "CREATE VIEW exchange_timings AS SELECT\n"
    "  e.id AS exchange_id, e.capture_id, e.method, e.host,\n"
    "  CASE WHEN instr(e.target, '?') > 0\n"
    "       THEN substr(e.target, 1, instr(e.target, '?') - 1)\n"
    "       ELSE e.target END AS path,\n"
    "  e.target, e.status,\n"
    "  e.req_first_us - (SELECT MIN(f.req_first_us) FROM exchanges f\n"
    "                    WHERE f.capture_id = e.capture_id) AS t_us,\n"
    "  CASE WHEN e.status > 0 THEN e.resp_last_us - e.req_first_us END\n"
    "    AS latency_us,\n"
    "  CASE WHEN e.status > 0 THEN e.resp_first_us - e.req_last_us END\n"
    "    AS ttfb_us,\n"
    "  e.resp_body_size_bytes AS resp_bytes\n"
    "FROM exchanges e;\n"
    RESULT_TIMINGS_VIEW
    "INSERT INTO meta(key, value) VALUES ('created_by', 'reprise "
    RP_VERSION "');\n",
    /* 1 -> 2: results keyed by loop before exchange, so a looping replay
     * appends its rows near the end of the table instead of between the
     * rows of every earlier loop (SCHEMA.md, "Why loop comes first"). */
    "DROP VIEW result_timings;\n"
    "ALTER TABLE results RENAME TO results_v1;\n"
    RESULTS_TABLE("PRIMARY KEY (run_id, loop, exchange_id, copy)")
    "INSERT INTO results(" RESULT_COLUMNS ")\n"
    "  SELECT " RESULT_COLUMNS " FROM results_v1\n"
    "  ORDER BY run_id, loop, exchange_id, copy;\n"
    "DROP TABLE results_v1;\n"
    RESULT_TIMINGS_VIEW,
    /* 2 -> 3: the request line as sent, kept when it is not "method SP
     * target SP version" (malformed, extra tokens, HTTP/0.9); NULL for
     * every older row, whose request lines were all of that form */
    "ALTER TABLE exchanges ADD COLUMN request_line TEXT;\n",
    /* 3 -> 4: what --monitor and --monitor-pid saw of the target during a
     * run: every series, its points and every scrape, failed ones too
     * (IF NOT EXISTS: a file whose version was lowered by hand may have
     * them already) */
    "CREATE TABLE IF NOT EXISTS monitor_series (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
    "  source TEXT NOT NULL,\n"
    "  name TEXT NOT NULL,\n"
    "  type TEXT NOT NULL,\n"
    "  UNIQUE (run_id, source, name)\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS monitor_points (\n"
    "  series_id INTEGER NOT NULL REFERENCES monitor_series(id),\n"
    "  t_us INTEGER NOT NULL,\n"
    "  value REAL NOT NULL,\n"
    "  PRIMARY KEY (series_id, t_us)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE IF NOT EXISTS monitor_scrapes (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
    "  source TEXT NOT NULL,\n"
    "  t_us INTEGER NOT NULL,\n"
    "  took_us INTEGER NOT NULL,\n"
    "  series INTEGER NOT NULL,\n"
    "  error TEXT\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS monitor_scrapes_run ON monitor_scrapes(run_id);\n",
    /* 4 -> 5: the response headers of the results whose response a replay
     * kept (--store-bodies); their bodies go to `bodies` by body_hash */
    "ALTER TABLE results ADD COLUMN resp_headers TEXT;\n",
    /* 5 -> 6: correlations learned at capture, and what correlation did
     * to each replayed request (SCHEMA.md, "correlations") */
    "CREATE TABLE IF NOT EXISTS correlations (\n"
    "  exchange_id INTEGER NOT NULL REFERENCES exchanges(id),\n"
    "  location TEXT NOT NULL,\n"
    "  kind TEXT NOT NULL,\n"
    "  source_exchange_id INTEGER REFERENCES exchanges(id),\n"
    "  source_location TEXT,\n"
    "  value_hash TEXT NOT NULL,\n"
    "  PRIMARY KEY (exchange_id, location)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX IF NOT EXISTS correlations_by_source "
    "ON correlations(source_exchange_id);\n"
    "CREATE TABLE IF NOT EXISTS result_correlations (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
    "  loop INTEGER NOT NULL,\n"
    "  exchange_id INTEGER NOT NULL REFERENCES exchanges(id),\n"
    "  copy INTEGER NOT NULL,\n"
    "  substituted INTEGER NOT NULL,\n"
    "  uncorrelated INTEGER NOT NULL,\n"
    "  PRIMARY KEY (run_id, loop, exchange_id, copy)\n"
    ") WITHOUT ROWID;\n",
};



const char *const corpus_stmt_sql[ST__COUNT] = {
    [ST_CAPTURE_BEGIN] =
        "INSERT INTO captures(label, source, filter, started_us, redacted,"
        " options, tool_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
    [ST_CAPTURE_END] =
        "UPDATE captures SET ended_us = ?1, stats = ?2, exchange_count ="
        " (SELECT COUNT(*) FROM exchanges WHERE capture_id = ?3)"
        " WHERE id = ?3",
    [ST_CONN_ADD] =
        "INSERT INTO connections(capture_id, client_addr, client_port,"
        " server_addr, server_port, first_us, last_us)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
    [ST_CONN_END] = "UPDATE connections SET last_us = ? WHERE id = ?",
    [ST_BODY_ADD] =
        "INSERT OR IGNORE INTO bodies(hash, size_bytes, stored_bytes, data)"
        " VALUES (?, ?, ?, ?)",
    [ST_EX_ADD] = EX_ADD_SQL EX_ADD_ROW,
    [ST_EX_ADD_BATCH] = NULL, /* EX_ADD_SQL with CORPUS_EX_BATCH rows */
    [ST_EX_GET] = NULL, /* built by corpus_read.c (shares its column list) */
    [ST_BODY_GET] = "SELECT size_bytes, data FROM bodies WHERE hash = ?",
    [ST_RUN_BEGIN] =
        "INSERT INTO runs(capture_id, label, target, mode, options,"
        " started_us, tool_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
    [ST_RUN_END] =
        "UPDATE runs SET ended_us = ?1, status = ?2, summary = ?3,"
        " result_count = (SELECT COUNT(*) FROM results WHERE run_id = ?4),"
        " error_count = (SELECT COUNT(*) FROM results WHERE run_id = ?4"
        " AND error_class IS NOT NULL AND error_class != 'not_sent')"
        " WHERE id = ?4",
    [ST_RESULT_ADD] =
        "INSERT OR REPLACE INTO results(" RESULT_INSERT_COLUMNS ")"
        " VALUES " RESULT_ROW,
    [ST_RESULT_ADD_BATCH] = NULL, /* CORPUS_RESULT_BATCH rows, built */
};
