/*
 * corpus_fixture.h: what the corpus unit tests share: the temporary folder
 * fixture (tests/unit/tmp_fixture.h), whole-file reads and direct SQL on a
 * file (statements, and queries whose rows come back as text).
 * Include after cmocka.h and sqlite3.h.
 */
#ifndef RP_CORPUS_FIXTURE_H
#define RP_CORPUS_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/unit/tmp_fixture.h"

/* Reads a whole file (NULL if missing), NUL-terminated; *len receives its
 * length. The caller frees it. */
static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, fp);
    fclose(fp);
    buf[got] = 0;
    *len = got;
    return buf;
}

/* Runs sql on the file directly, as a user with the sqlite3 shell would. */
static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static int add_row(void *arg, int n, char **vals, char **names)
{
    char *out = arg;
    (void)names;
    for (int i = 0; i < n; i++) {
        strncat(out, i ? "|" : "", 4095 - strlen(out));
        strncat(out, vals[i] ? vals[i] : "NULL", 4095 - strlen(out));
    }
    strncat(out, "\n", 4095 - strlen(out));
    return 0;
}

/* Runs a query on the file directly and returns its rows as the sqlite3
 * shell prints them ("a|b\n" each, up to 4 KiB) in a static buffer. */
static const char *query_rows(const char *path, const char *sql)
{
    static char out[4096];
    out[0] = 0;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, add_row, out, NULL), SQLITE_OK);
    sqlite3_close(db);
    return out;
}

#endif
