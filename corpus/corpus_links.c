/*
 * corpus_links.c: the correlations tables (schema v6): which value a
 * response handed out and a later request sent back, learned by capture
 * while the clear values were at hand and stored as keyed hashes only.
 * Capture writes them in one transaction at its end; replay reads a
 * capture's links once before it starts; show reads one exchange's.
 */
#include <stdio.h>
#include <string.h>

#include "corpus/corpus_priv.h"

int corpus_add_links(struct corpus *c, const struct corpus_link *l, size_t n,
                     char *err)
{
    sqlite3_stmt *st = NULL;
    int r = 0;
    if (!n)
        return 0;
    /* the background writer drains and stops first: one thread at a time */
    if (c->aq && (r = corpus_set_async(c, 0, err)))
        return r;
    if ((r = corpus_tx_ensure(c, err)))
        return r;
    if ((r = corpus_prepare(c,
                            "INSERT OR REPLACE INTO correlations(exchange_id,"
                            " location, kind, source_exchange_id,"
                            " source_location, value_hash)"
                            " VALUES (?, ?, ?, ?, ?, ?)",
                            &st, err)))
        return r;
    for (size_t i = 0; i < n && !r; i++) {
        sqlite3_bind_int64(st, 1, l[i].exchange_id);
        sqlite3_bind_text(st, 2, l[i].location, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, l[i].kind, -1, SQLITE_STATIC);
        if (l[i].source_exchange_id > 0)
            sqlite3_bind_int64(st, 4, l[i].source_exchange_id);
        else
            sqlite3_bind_null(st, 4);
        if (l[i].source_location)
            sqlite3_bind_text(st, 5, l[i].source_location, -1,
                              SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 5);
        sqlite3_bind_text(st, 6, l[i].value_hash, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            r = corpus_db_fail(c, rc, "storing correlations", err);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    sqlite3_finalize(st);
    if (!r)
        r = corpus_commit(c, err);
    return r;
}

int corpus_links_each(struct corpus *c, int64_t capture_id,
                      int64_t exchange_id,
                      int (*fn)(void *arg, const struct corpus_link *l),
                      void *arg, char *err)
{
    sqlite3_stmt *st = NULL;
    int r;
    if (c->version < 6)
        return 0;
    if ((r = corpus_prepare(
             c,
             capture_id > 0
                 ? "SELECT l.exchange_id, l.location, l.kind,"
                   " l.source_exchange_id, l.source_location, l.value_hash"
                   " FROM correlations l JOIN exchanges e"
                   " ON e.id = l.exchange_id WHERE e.capture_id = ?"
                   " ORDER BY l.exchange_id, l.location"
                 : "SELECT exchange_id, location, kind, source_exchange_id,"
                   " source_location, value_hash FROM correlations"
                   " WHERE exchange_id = ? ORDER BY location",
             &st, err)))
        return r;
    sqlite3_bind_int64(st, 1, capture_id > 0 ? capture_id : exchange_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct corpus_link l;
        l.exchange_id = sqlite3_column_int64(st, 0);
        l.location = (const char *)sqlite3_column_text(st, 1);
        l.kind = (const char *)sqlite3_column_text(st, 2);
        l.source_exchange_id = sqlite3_column_int64(st, 3);
        l.source_location = (const char *)sqlite3_column_text(st, 4);
        l.value_hash = (const char *)sqlite3_column_text(st, 5);
        if (!l.location || !l.kind || !l.value_hash)
            continue;
        if ((r = fn(arg, &l)))
            break;
    }
    if (!r && rc != SQLITE_ROW && rc != SQLITE_DONE)
        r = corpus_db_fail(c, rc, "reading correlations", err);
    sqlite3_finalize(st);
    return r;
}

int corpus_conn_client(struct corpus *c, int64_t conn_id, char *out,
                       char *err)
{
    sqlite3_stmt *st = NULL;
    int r;
    out[0] = '\0';
    if ((r = corpus_prepare(c, "SELECT client_addr FROM connections"
                               " WHERE id = ?", &st, err)))
        return r;
    sqlite3_bind_int64(st, 1, conn_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *a = (const char *)sqlite3_column_text(st, 0);
        if (a)
            snprintf(out, 64, "%s", a);
    } else if (rc != SQLITE_DONE) {
        r = corpus_db_fail(c, rc, "reading a connection", err);
    }
    sqlite3_finalize(st);
    return r;
}

int corpus_add_result_corrs(struct corpus *c, int64_t run_id,
                            const struct corpus_result_corr *v, size_t n,
                            char *err)
{
    sqlite3_stmt *st = NULL;
    int r;
    if (!n)
        return 0;
    if ((r = corpus_tx_ensure(c, err)) ||
        (r = corpus_prepare(c, "INSERT OR REPLACE INTO result_correlations"
                               "(run_id, loop, exchange_id, copy,"
                               " substituted, uncorrelated)"
                               " VALUES (?, ?, ?, ?, ?, ?)", &st, err)))
        return r;
    for (size_t i = 0; i < n && !r; i++) {
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int(st, 2, v[i].loop);
        sqlite3_bind_int64(st, 3, v[i].exchange_id);
        sqlite3_bind_int(st, 4, v[i].copy);
        sqlite3_bind_int(st, 5, v[i].substituted);
        sqlite3_bind_int(st, 6, v[i].uncorrelated);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            r = corpus_db_fail(c, rc, "storing result correlations", err);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (!r)
        r = corpus_tx_maybe_commit(c, err);
    return r;
}

int corpus_result_corrs_each(struct corpus *c, int64_t run_id,
                             int64_t exchange_id,
                             int (*fn)(void *arg,
                                       const struct corpus_result_corr *r),
                             void *arg, char *err)
{
    sqlite3_stmt *st = NULL;
    int r;
    if (c->version < 6)
        return 0;
    if ((r = corpus_prepare(c, "SELECT loop, copy, substituted, uncorrelated"
                               " FROM result_correlations WHERE run_id = ?"
                               " AND exchange_id = ? ORDER BY loop, copy",
                            &st, err)))
        return r;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, exchange_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct corpus_result_corr x = {exchange_id, sqlite3_column_int(st, 1),
                                       sqlite3_column_int(st, 0),
                                       sqlite3_column_int(st, 2),
                                       sqlite3_column_int(st, 3)};
        if ((r = fn(arg, &x)))
            break;
    }
    if (!r && rc != SQLITE_ROW && rc != SQLITE_DONE)
        r = corpus_db_fail(c, rc, "reading result correlations", err);
    sqlite3_finalize(st);
    return r;
}
