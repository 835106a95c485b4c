/*
 * corpus_monitor.c: the series `reprise replay --monitor` and
 * --monitor-pid sampled from the target during a run (schema v4:
 * monitor_series, monitor_points, monitor_scrapes; see SCHEMA.md).
 */
#include "corpus/corpus.h"

#include <string.h>

#include "corpus/corpus_priv.h"

static int series_id(struct corpus *c, sqlite3_stmt *get, sqlite3_stmt *add,
                     int64_t run_id, const char *source,
                     const struct corpus_monitor_point *p, int64_t *id,
                     char *err)
{
    sqlite3_reset(get);
    sqlite3_bind_int64(get, 1, run_id);
    sqlite3_bind_text(get, 2, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(get, 3, p->name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(get);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(get, 0);
        return 0;
    }
    if (rc != SQLITE_DONE)
        return corpus_db_fail(c, rc, "reading monitored series", err);
    sqlite3_reset(add);
    sqlite3_bind_int64(add, 1, run_id);
    sqlite3_bind_text(add, 2, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(add, 3, p->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(add, 4, p->type ? p->type : "untyped", -1,
                      SQLITE_STATIC);
    if ((rc = sqlite3_step(add)) != SQLITE_DONE)
        return corpus_db_fail(c, rc, "storing monitored series", err);
    *id = sqlite3_last_insert_rowid(c->db);
    return 0;
}

int corpus_monitor_write(struct corpus *c, int64_t run_id,
                         const struct corpus_monitor_scrape *s, size_t n,
                         char *err)
{
    sqlite3_stmt *get = NULL, *add = NULL, *pt = NULL, *sc = NULL;
    int r = c->aq ? corpus_set_async(c, 0, err) : 0;
    if (!r)
        r = corpus_tx_ensure(c, err);
    if (!r)
        r = corpus_prepare(c, "SELECT id FROM monitor_series WHERE run_id ="
                              " ?1 AND source = ?2 AND name = ?3", &get, err);
    if (!r)
        r = corpus_prepare(c, "INSERT INTO monitor_series(run_id, source,"
                              " name, type) VALUES (?1, ?2, ?3, ?4)", &add,
                           err);
    if (!r)
        r = corpus_prepare(c, "INSERT OR REPLACE INTO monitor_points"
                              "(series_id, t_us, value) VALUES (?1, ?2, ?3)",
                           &pt, err);
    if (!r)
        r = corpus_prepare(c, "INSERT INTO monitor_scrapes(run_id, source,"
                              " t_us, took_us, series, error) VALUES"
                              " (?1, ?2, ?3, ?4, ?5, ?6)", &sc, err);
    for (size_t i = 0; !r && i < n; i++) {
        const struct corpus_monitor_scrape *x = &s[i];
        sqlite3_reset(sc);
        sqlite3_bind_int64(sc, 1, run_id);
        sqlite3_bind_text(sc, 2, x->source, -1, SQLITE_STATIC);
        sqlite3_bind_int64(sc, 3, x->t_us);
        sqlite3_bind_int64(sc, 4, x->took_us);
        sqlite3_bind_int64(sc, 5, (int64_t)x->npoints);
        if (x->error)
            sqlite3_bind_text(sc, 6, x->error, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(sc, 6);
        int rc = sqlite3_step(sc);
        if (rc != SQLITE_DONE) {
            r = corpus_db_fail(c, rc, "storing a scrape", err);
            break;
        }
        for (size_t k = 0; !r && k < x->npoints; k++) {
            int64_t id = 0;
            if ((r = series_id(c, get, add, run_id, x->source, &x->point[k],
                               &id, err)))
                break;
            sqlite3_reset(pt);
            sqlite3_bind_int64(pt, 1, id);
            sqlite3_bind_int64(pt, 2, x->t_us);
            sqlite3_bind_double(pt, 3, x->point[k].value);
            if ((rc = sqlite3_step(pt)) != SQLITE_DONE)
                r = corpus_db_fail(c, rc, "storing a monitored point", err);
        }
    }
    sqlite3_finalize(get);
    sqlite3_finalize(add);
    sqlite3_finalize(pt);
    sqlite3_finalize(sc);
    if (!r)
        r = corpus_commit(c, err);
    return r;
}

static int has_monitor(struct corpus *c, int *yes, char *err)
{
    sqlite3_stmt *st;
    int r = corpus_prepare(c, "SELECT count(*) FROM sqlite_master WHERE"
                              " name = 'monitor_points'", &st, err);
    if (r)
        return r;
    int rc = sqlite3_step(st);
    *yes = rc == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
    if (rc != SQLITE_ROW)
        r = corpus_db_fail(c, rc, "reading the schema", err);
    sqlite3_finalize(st);
    return r;
}

int corpus_monitor_read(struct corpus *c, int64_t run_id,
                        corpus_monitor_fn fn, void *arg, uint64_t *scrapes,
                        char *err)
{
    sqlite3_stmt *st;
    int yes = 0;
    *scrapes = 0;
    int r = has_monitor(c, &yes, err);
    if (r || !yes)
        return r;
    r = corpus_prepare(c, "SELECT s.source, s.name, s.type, p.t_us, p.value"
                          " FROM monitor_series s JOIN monitor_points p ON"
                          " p.series_id = s.id WHERE s.run_id = ?1"
                          " ORDER BY s.id, p.t_us", &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, run_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((r = fn(arg, (const char *)sqlite3_column_text(st, 0),
                    (const char *)sqlite3_column_text(st, 1),
                    (const char *)sqlite3_column_text(st, 2),
                    sqlite3_column_int64(st, 3),
                    sqlite3_column_double(st, 4))))
            break;
    }
    if (!r && rc != SQLITE_DONE)
        r = corpus_db_fail(c, rc, "reading monitored series", err);
    sqlite3_finalize(st);
    if (r)
        return r;
    r = corpus_prepare(c, "SELECT source, t_us, error FROM monitor_scrapes"
                          " WHERE run_id = ?1 ORDER BY t_us", &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, run_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        (*scrapes)++;
        if (sqlite3_column_type(st, 2) == SQLITE_NULL)
            continue;
        if ((r = fn(arg, (const char *)sqlite3_column_text(st, 0), NULL,
                    (const char *)sqlite3_column_text(st, 2),
                    sqlite3_column_int64(st, 1), 0)))
            break;
    }
    if (!r && rc != SQLITE_DONE)
        r = corpus_db_fail(c, rc, "reading scrapes", err);
    sqlite3_finalize(st);
    return r;
}
