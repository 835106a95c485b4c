/*
 * an_showdiff.c: `reprise show DB ID --diff [--baseline RUN|capture]
 * [--candidate RUN] [--loop N] [--copy K]`: one exchange's two stored
 * responses, the field differences first (as analyze counts them), then
 * both responses side by side, line against line (a longest common
 * subsequence of their lines: JSON bodies pretty-printed with sorted keys,
 * so equal documents line up), each line marked: ' ' the same, '|'
 * changed, '<' only in the baseline, '>' only in the candidate.
 * Control characters are escaped, as everywhere in `show`.
 */
#include "analyze/an_priv.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/fielddiff.h"

#define COL 58          /* characters of one side's column */
#define MAX_LINES 2000  /* lines of a side compared (the rest: cut) */

struct lines {
    char **v;
    size_t n, cap;
};

static int push(struct lines *l, const char *s, size_t n)
{
    if (l->n == MAX_LINES)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **g = realloc(l->v, cap * sizeof *g);
        if (!g)
            return RP_ENOMEM;
        l->v = g;
        l->cap = cap;
    }
    char *d = malloc(n * 4 + 1), *o = d;
    if (!d)
        return RP_ENOMEM;
    for (size_t i = 0; i < n; i++) { /* control bytes escaped */
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\r')
            continue;
        if (ch == '\t' || (ch >= 0x20 && ch != 0x7f))
            *o++ = (char)ch;
        else
            o += sprintf(o, "\\x%02x", ch);
    }
    *o = 0;
    l->v[l->n++] = d;
    return 0;
}

static int push_text(struct lines *l, const char *s, size_t n)
{
    size_t i = 0;
    int r = 0;
    while (!r && i < n) {
        const char *e = memchr(s + i, '\n', n - i);
        size_t k = e ? (size_t)(e - (s + i)) : n - i;
        r = push(l, s + i, k);
        i += k + 1;
    }
    return r;
}

static void lines_free(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* The response as lines: its headers, an empty line, its body (JSON
 * pretty-printed with sorted keys when it parses; a Redis or PostgreSQL
 * reply as the JSON it is compared as). */
static int to_lines(const struct an_fd_msg *m, struct lines *l)
{
    int r = push_text(l, m->headers ? m->headers : "", m->headers_len);
    if (!r)
        r = push(l, "", 0);
    if (r || !m->body_len)
        return r;
    char *reply = an_fd_reply_text(m); /* Redis, PostgreSQL: decoded */
    if (reply) {
        r = push_text(l, reply, strlen(reply));
        free(reply);
        return r;
    }
    json_error_t je;
    json_t *j = json_loadb((const char *)m->body, m->body_len,
                           JSON_DECODE_ANY, &je);
    if (j) {
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS |
                                    JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
        json_decref(j);
        if (s) {
            r = push_text(l, s, strlen(s));
            free(s);
            return r;
        }
    }
    return push_text(l, (const char *)m->body, m->body_len);
}

static void cell(FILE *f, const char *s)
{
    size_t n = strlen(s);
    if (n <= COL)
        fprintf(f, "%-*s", COL, s);
    else
        fprintf(f, "%.*s...", COL - 3, s);
}

static void side_by_side(FILE *f, const struct lines *a,
                         const struct lines *b)
{
    size_t n = a->n, m = b->n;
    /* LCS lengths from the end: L[i][j] for a[i..], b[j..] */
    unsigned short *L = calloc((n + 1) * (m + 1), sizeof *L);
    if (!L) {
        fputs("(too large to show side by side)\n", f);
        return;
    }
#define AT(i, j) L[(i) * (m + 1) + (j)]
    for (size_t i = n; i-- > 0;)
        for (size_t j = m; j-- > 0;)
            AT(i, j) = !strcmp(a->v[i], b->v[j])
                           ? (unsigned short)(AT(i + 1, j + 1) + 1)
                           : AT(i + 1, j) > AT(i, j + 1) ? AT(i + 1, j)
                                                         : AT(i, j + 1);
    size_t i = 0, j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && !strcmp(a->v[i], b->v[j])) {
            cell(f, a->v[i]);
            fputs("   ", f);
            fprintf(f, "%s\n", b->v[j]);
            i++, j++;
        } else if (i < n && j < m && AT(i + 1, j + 1) == AT(i, j)) {
            cell(f, a->v[i]);
            fprintf(f, " | %s\n", b->v[j]);
            i++, j++;
        } else if (i < n && (j == m || AT(i + 1, j) >= AT(i, j + 1))) {
            cell(f, a->v[i]);
            fputs(" <\n", f);
            i++;
        } else {
            cell(f, "");
            fprintf(f, " > %s\n", b->v[j]);
            j++;
        }
    }
#undef AT
    free(L);
}

struct pctx {
    FILE *f;
    int n;
};

static int print_change(void *arg, const char *path, enum an_fd_kind kind,
                        const char *b, const char *c)
{
    struct pctx *p = arg;
    p->n++;
    fprintf(p->f, "  * %s %s: %s -> %s\n", path, an_fd_kind_name(kind),
            *b ? b : "(none)", *c ? c : "(none)");
    return 0;
}

/* Resolves "capture" or RUN into a set. */
static int resolve(struct corpus *c, const char *what, int64_t capture_id,
                   enum corpus_set_kind *kind, int64_t *id, char *name,
                   size_t nn, char *err)
{
    if (!what || !strcmp(what, "capture")) {
        *kind = CORPUS_SET_CAPTURE;
        *id = capture_id;
        snprintf(name, nn, "capture %lld", (long long)capture_id);
        return 0;
    }
    struct corpus_run_row row;
    int r = corpus_run_find(c, what, &row, err);
    if (r)
        return r;
    *kind = CORPUS_SET_RUN;
    *id = row.id;
    if (row.label[0])
        snprintf(name, nn, "run %lld '%s'", (long long)row.id, row.label);
    else
        snprintf(name, nn, "run %lld", (long long)row.id);
    return 0;
}

int an_show_diff(FILE *f, struct corpus *c, const struct corpus_exchange *ex,
                 const char *baseline, const char *candidate, int loop,
                 int copy, char *err)
{
    enum corpus_set_kind kb, kc;
    int64_t ib, ic;
    char nb[200], nc[200];
    struct corpus_run_row latest;
    int r = resolve(c, baseline, ex->capture_id, &kb, &ib, nb, sizeof nb,
                    err);
    if (!r && !candidate) {
        if ((r = corpus_run_latest(c, 0, &latest, err)))
            return rp_fail(err, RP_EINPUT, "no run to compare (give "
                           "--candidate RUN)");
        char idb[32];
        snprintf(idb, sizeof idb, "%lld", (long long)latest.id);
        r = resolve(c, idb, ex->capture_id, &kc, &ic, nc, sizeof nc, err);
    } else if (!r) {
        r = resolve(c, candidate, ex->capture_id, &kc, &ic, nc, sizeof nc,
                    err);
    }
    if (r)
        return r;
    char *h[2] = {NULL, NULL};
    uint8_t *b[2] = {NULL, NULL};
    size_t hl[2], bl[2];
    r = corpus_response_get(c, kb, ib, ex->id, loop, copy, &h[0], &hl[0],
                            &b[0], &bl[0], err);
    if (r == RP_EINPUT)
        r = rp_fail(err, RP_EINPUT, "%s kept no response for exchange %lld "
                    "(loop %d, copy %d): replay with --store-bodies all, or "
                    "pick an exchange the sample kept", nb, (long long)ex->id,
                    loop, copy);
    if (!r) {
        r = corpus_response_get(c, kc, ic, ex->id, loop, copy, &h[1], &hl[1],
                                &b[1], &bl[1], err);
        if (r == RP_EINPUT)
            r = rp_fail(err, RP_EINPUT, "%s kept no response for exchange "
                        "%lld (loop %d, copy %d): replay with --store-bodies "
                        "all, or pick an exchange the sample kept", nc,
                        (long long)ex->id, loop, copy);
    }
    if (!r) {
        struct an_fd_msg mb = {h[0], hl[0], b[0], bl[0], ex->version};
        struct an_fd_msg mc = {h[1], hl[1], b[1], bl[1], ex->version};
        fprintf(f, "exchange %lld %s %s: %s (baseline) vs %s (candidate), "
                "loop %d, copy %d\n", (long long)ex->id, ex->method,
                ex->target, nb, nc, loop, copy);
        fputs("differences (field by field):\n", f);
        struct pctx pc = {f, 0};
        r = an_field_diff(&mb, &mc, print_change, &pc);
        if (!r && !pc.n)
            fputs("  none\n", f);
        struct lines la = {0}, lc = {0};
        if (!r && !(r = to_lines(&mb, &la)) && !(r = to_lines(&mc, &lc))) {
            fputc('\n', f);
            cell(f, "baseline");
            fputs("   candidate\n", f);
            side_by_side(f, &la, &lc);
        }
        lines_free(&la);
        lines_free(&lc);
        if (r == RP_ENOMEM)
            r = rp_fail(err, RP_ENOMEM, "out of memory");
    }
    for (int k = 0; k < 2; k++) {
        free(h[k]);
        free(b[k]);
    }
    return r;
}
