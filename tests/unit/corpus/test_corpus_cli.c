/*
 * test_corpus_cli.c: the `reprise ls` and `reprise export` subcommands as a
 * user runs them: exit codes (0, 2 for usage and bad input), one-line error
 * messages on stderr, --help, and the files they write. stdout and stderr
 * are redirected to files in a temp dir for each call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corpus/corpus.h"
#include "corpus/corpus_cli.h"

static char dir[64], db[128], out_path[128], err_path[128], junk[128];
static char *out_text, *err_text;

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return strdup("");
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = calloc(1, (size_t)n + 1);
    if (fread(buf, 1, (size_t)n, fp) != (size_t)n)
        buf[0] = 0;
    fclose(fp);
    return buf;
}

/* Runs cmd with argv (NULL-terminated) and captures stdout and stderr. */
static int run(int (*cmd)(int, char **), const char *const *args)
{
    char *argv[16];
    int argc = 0;
    while (argc < 15 && args[argc]) {
        argv[argc] = (char *)args[argc];
        argc++;
    }
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fo, 1);
    dup2(fe, 2);
    int rc = cmd(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    close(fo);
    close(fe);
    free(out_text);
    free(err_text);
    out_text = slurp(out_path);
    err_text = slurp(err_path);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    char err[RP_ERRLEN];
    struct corpus *c;
    int64_t cap, id;
    snprintf(dir, sizeof dir, "/tmp/rp-corpus-cli.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(db, sizeof db, "%s/c.db", dir);
    snprintf(out_path, sizeof out_path, "%s/stdout", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    snprintf(junk, sizeof junk, "%s/junk.db", dir);
    FILE *fp = fopen(junk, "w");
    if (!fp)
        return -1;
    fputs("GET / HTTP/1.1\r\nHost: not-a-database\r\n\r\n", fp);
    fclose(fp);
    if (corpus_open(db, CORPUS_CREATE, &c, err))
        return -1;
    struct corpus_capture_info ci = {.label = "prod", .source = "iface:lo",
                                     .started_us = 1780000000000000LL};
    if (corpus_capture_begin(c, &ci, &cap, err))
        return -1;
    for (int i = 0; i < 3; i++) {
        struct corpus_exchange ex = {0};
        ex.capture_id = cap;
        ex.method = "GET";
        ex.target = i == 1 ? "/two" : "/one";
        ex.host = "h";
        ex.version = "HTTP/1.1";
        ex.req.first_us = 1780000000000000LL + i;
        ex.req.last_us = ex.req.first_us;
        ex.status = 200;
        ex.resp.first_us = ex.req.first_us + 10;
        ex.resp.last_us = ex.req.first_us + 20;
        if (corpus_add_exchange(c, &ex, &id, err))
            return -1;
    }
    struct corpus_capture_stats st = {.packets = 12, .exchanges = 3};
    if (corpus_capture_end(c, cap, &st, err))
        return -1;
    struct corpus_run_info ri = {cap, "v2", "http://127.0.0.1:9", "max", NULL,
                                 1780000000000000LL};
    int64_t run;
    if (corpus_run_begin(c, &ri, &run, err))
        return -1;
    return corpus_close(c, err) ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    free(out_text);
    free(err_text);
    out_text = err_text = NULL;
    return system(cmd) == 0 ? 0 : -1;
}

static void test_ls(void **state)
{
    (void)state;
    assert_int_equal(run(corpus_cmd_ls, (const char *[]){"ls", db, NULL}), 0);
    assert_non_null(strstr(out_text, "captures: 1"));
    assert_non_null(strstr(out_text, "prod"));
    assert_non_null(strstr(out_text, "iface:lo"));
    assert_non_null(strstr(out_text, "runs: 1"));
    assert_non_null(strstr(out_text, "running"));
    assert_string_equal(err_text, "");

    assert_int_equal(run(corpus_cmd_ls, (const char *[]){"ls", "--help",
                                                         NULL}), 0);
    assert_non_null(strstr(out_text, "usage: reprise ls"));
    assert_int_equal(run(corpus_cmd_ls, (const char *[]){"ls", "--nope", db,
                                                         NULL}), 2);
    assert_non_null(strstr(err_text, "unknown option '--nope'"));
    assert_int_equal(run(corpus_cmd_ls, (const char *[]){"ls", NULL}), 2);
    assert_int_equal(run(corpus_cmd_ls, (const char *[]){"ls", junk, NULL}),
                     2);
    assert_non_null(strstr(err_text, "reprise: ls: "));
    assert_non_null(strstr(err_text, "not a reprise corpus"));
    int nl = 0;
    for (const char *p = err_text; *p; p++)
        nl += *p == '\n';
    assert_int_equal(nl, 1); /* one line */
}

static void test_export(void **state)
{
    (void)state;
    char file[160];
    snprintf(file, sizeof file, "%s/x.jsonl", dir);
    assert_int_equal(run(corpus_cmd_export,
                         (const char *[]){"export", db, "--capture", "1",
                                          "--format", "jsonl", "-o", file,
                                          NULL}), 0);
    char *text = slurp(file);
    int lines = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);
    assert_non_null(strstr(text, "\"target\":\"/two\""));
    assert_non_null(strstr(text, "\"wire_ttfb_us\":10"));
    free(text);

    assert_int_equal(run(corpus_cmd_export, (const char *[]){"export", db,
                                                             NULL}), 0);
    assert_non_null(strstr(out_text, "{\"id\":1,"));

    assert_int_equal(run(corpus_cmd_export,
                         (const char *[]){"export", "--help", NULL}), 0);
    for (const char *const *f = (const char *const[]){"--capture", "--format",
                                                      "--output", "--help",
                                                      NULL}; *f; f++)
        assert_non_null(strstr(out_text, *f));
    assert_int_equal(run(corpus_cmd_export,
                         (const char *[]){"export", "--bogus", db, NULL}), 2);
    assert_int_equal(run(corpus_cmd_export,
                         (const char *[]){"export", "--format", "csv", db,
                                          NULL}), 2);
    assert_int_equal(run(corpus_cmd_export,
                         (const char *[]){"export", "--capture", "x", db,
                                          NULL}), 2);
    assert_int_equal(run(corpus_cmd_export,
                         (const char *[]){"export", "--capture", NULL}), 2);
    assert_non_null(strstr(err_text, "needs a value"));
    /* unknown capture: exit 2, and the -o file is not left behind */
    unlink(file);
    assert_int_equal(run(corpus_cmd_export,
                         (const char *[]){"export", "-c", "9", "-o", file, db,
                                          NULL}), 2);
    assert_non_null(strstr(err_text, "no capture with id 9"));
    assert_int_equal(access(file, F_OK), -1);
    assert_int_equal(run(corpus_cmd_export,
                         (const char *[]){"export", junk, NULL}), 2);
    assert_non_null(strstr(err_text, "reprise: export: "));
    assert_non_null(strstr(err_text, "not a reprise corpus"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
