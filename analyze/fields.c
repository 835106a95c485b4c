/*
 * fields.c: which response fields changed between the baseline and the
 * candidate, per endpoint, and which differences are only noise.
 *
 * While the sets stream (an_load), the pairs whose responses are both
 * stored (a capture's always; a run's with --store-bodies) are noted by
 * key; afterwards each pair's two responses are read back
 * (corpus_response_get) and diffed field by field (fielddiff.c). Noise is
 * learned first, in the spirit of Diffy, and listed, never dropped in
 * silence. A field is noise for an endpoint when it also differs
 *   - between the baseline and its A/A partner (--noise RUN), same
 *     exchange, loop and copy;
 *   - between responses to the same exchange across the baseline's own
 *     copies and loops, or the candidate's (a field that differs between
 *     two answers to one request is not deterministic, whatever the
 *     release; with a capture as the baseline, this is the noise a single
 *     run can show, with --scale or --loop);
 *   - between the capture and the baseline (a run), or the candidate when
 *     the capture is the baseline, when both values look like times (HTTP
 *     dates, ISO 8601, epoch seconds or milliseconds): a date field moves
 *     with the clock, not the release;
 *   - or because --ignore-field 'ENDPOINT PATH' says so.
 * Every other differing field is a change, counted once per exchange,
 * with up to AN_MAX_EXAMPLES example pairs.
 */
#include "analyze/an_priv.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/fielddiff.h"

#define AN_FIELD_KEYS_MAX 200000 /* pairs and keys noted per list */

struct fkey {
    struct an_group *g;
    int64_t ex;
    int loop, copy;         /* the run side's; the other side's are equal */
    char version[8];        /* the exchange's protocol version ("RESP3",
                               "PG3"; cut), "" for HTTP or unknown */
};

struct fvec {
    struct fkey *v;
    size_t n, cap;
    uint64_t dropped;
};

struct an_fwork {
    struct fvec pairs;      /* baseline and candidate */
    struct fvec noise;      /* baseline and the A/A run */
    struct fvec base;       /* the baseline's own (a run) */
    struct fvec cand;       /* the candidate's own */
};

static int fvec_add(struct fvec *v, struct an_group *g,
                    const struct corpus_sample *s)
{
    if (v->n == AN_FIELD_KEYS_MAX) {
        v->dropped++;
        return 0;
    }
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 1024;
        struct fkey *n = realloc(v->v, cap * sizeof *n);
        if (!n)
            return RP_ENOMEM;
        v->v = n;
        v->cap = cap;
    }
    struct fkey *k = &v->v[v->n++];
    *k = (struct fkey){g, s->exchange_id, s->loop, s->copy, ""};
    if (s->version)
        snprintf(k->version, sizeof k->version, "%s", s->version);
    return 0;
}

static struct an_fwork *work(struct an_analysis *a)
{
    if (!a->fw)
        a->fw = calloc(1, sizeof *a->fw);
    return a->fw;
}

int an_fields_note(struct an_analysis *a, int which, struct an_group *g,
                   const struct corpus_sample *s)
{
    if (!g || !s->has_response || s->error_class != CORPUS_ERR_NONE)
        return 0;
    struct an_fwork *w = work(a);
    if (!w)
        return RP_ENOMEM;
    switch (which) {
    case AN_CAND + 10: return fvec_add(&w->cand, g, s);
    case AN_CAND: return fvec_add(&w->pairs, g, s);
    case AN_NOISE: return fvec_add(&w->noise, g, s);
    default:
        return a->set[AN_BASE].kind == CORPUS_SET_RUN
                   ? fvec_add(&w->base, g, s) : 0;
    }
}

/* ---- fields of a group ---------------------------------------------------- */

static struct an_field *field_get(struct an_group *g, const char *path)
{
    struct an_fields *fs = &g->fields;
    for (size_t i = 0; i < fs->n; i++)
        if (!strcmp(fs->f[i].path, path))
            return &fs->f[i];
    if (fs->n == AN_MAX_FIELDS)
        return NULL;
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? 2 * fs->cap : 8;
        struct an_field *n = realloc(fs->f, cap * sizeof *n);
        if (!n)
            return NULL;
        fs->f = n;
        fs->cap = cap;
    }
    struct an_field *f = &fs->f[fs->n];
    memset(f, 0, sizeof *f);
    if (!(f->path = strdup(path)))
        return NULL;
    fs->n++;
    return f;
}

static void mark_noise(struct an_group *g, const char *path, const char *src)
{
    struct an_field *f = field_get(g, path);
    if (f && !f->noise) {
        f->noise = 1;
        snprintf(f->noise_src, sizeof f->noise_src, "%s", src);
    }
}

void an_fields_free(struct an_group *g)
{
    for (size_t i = 0; i < g->fields.n; i++)
        free(g->fields.f[i].path);
    free(g->fields.f);
    memset(&g->fields, 0, sizeof g->fields);
}

void an_fwork_free(struct an_analysis *a)
{
    if (!a->fw)
        return;
    free(a->fw->pairs.v);
    free(a->fw->noise.v);
    free(a->fw->base.v);
    free(a->fw->cand.v);
    free(a->fw);
    a->fw = NULL;
}

/* ---- time-like values ------------------------------------------------------ */

static int looks_like_time(const char *v)
{
    const char *s = v;
    if (*s == '"')
        s++;
    static const char *const days[] = {"Mon,", "Tue,", "Wed,", "Thu,",
                                       "Fri,", "Sat,", "Sun,"};
    for (size_t i = 0; i < 7; i++)
        if (!strncmp(s, days[i], 4))
            return 1; /* an HTTP date */
    int y, mo, d;
    if (sscanf(s, "%4d-%2d-%2d", &y, &mo, &d) == 3 && y > 1970 && mo >= 1 &&
        mo <= 12 && d >= 1 && d <= 31)
        return 1; /* ISO 8601 */
    char *end;
    double n = strtod(s, &end);
    if (end != s && (!*end || *end == '"')) {
        double now = (double)time(NULL);
        double ten_years = 10 * 365.25 * 86400;
        if ((n > now - ten_years && n < now + ten_years) ||
            (n > (now - ten_years) * 1e3 && n < (now + ten_years) * 1e3))
            return 1; /* epoch seconds or milliseconds */
    }
    return 0;
}

/* ---- diffing pairs ------------------------------------------------------- */

struct side {
    char *h;
    size_t hl;
    uint8_t *b;
    size_t bl;
};

static int fetch(struct corpus *c, const struct an_set *set,
                 const struct fkey *k, struct side *out, char *err)
{
    memset(out, 0, sizeof *out);
    return corpus_response_get(c, set->kind, set->id, k->ex, k->loop,
                               k->copy, &out->h, &out->hl, &out->b,
                               &out->bl, err);
}

static void side_free(struct side *s)
{
    free(s->h);
    free(s->b);
}

struct dctx {
    struct an_group *g;
    int mode;               /* 0 changes, 1 noise, 2 time-like noise */
    const char *src;
    int capture_base;       /* changes against a capture: times are noise */
};

static int on_diff(void *arg, const char *path, enum an_fd_kind kind,
                   const char *b, const char *c)
{
    struct dctx *x = arg;
    if (x->mode == 1) {
        mark_noise(x->g, path, x->src);
        return 0;
    }
    if (x->mode == 2) {
        if (kind == AN_FD_CHANGED && looks_like_time(b) && looks_like_time(c))
            mark_noise(x->g, path, x->src);
        return 0;
    }
    if (x->capture_base && kind == AN_FD_CHANGED && looks_like_time(b) &&
        looks_like_time(c))
        mark_noise(x->g, path, "time (capture vs candidate)");
    struct an_field *f = field_get(x->g, path);
    if (!f)
        return 0; /* over AN_MAX_FIELDS: counted as the group's */
    if (f->noise) {
        f->noise_hits++;
        return 0;
    }
    if (!f->changed)
        f->kind = kind;
    else if ((int)kind != f->kind)
        f->kind = AN_FD_CHANGED;
    f->changed++;
    if (f->nex < AN_MAX_EXAMPLES) {
        snprintf(f->ex_b[f->nex], sizeof f->ex_b[0], "%s", b);
        snprintf(f->ex_c[f->nex], sizeof f->ex_c[0], "%s", c);
        f->nex++;
    }
    return 0;
}

/* Diffs the response of key k in set x with the one in set y (same key,
 * or kx for x when given). */
static int diff_keys(struct corpus *c, const struct an_set *x,
                     const struct fkey *kx, const struct an_set *y,
                     const struct fkey *ky, struct dctx *d, int *compared,
                     char *err)
{
    struct side sx, sy;
    *compared = 0;
    int r = fetch(c, x, kx, &sx, err);
    if (r == RP_EINPUT)
        return 0; /* not stored on that side */
    if (r)
        return r;
    r = fetch(c, y, ky, &sy, err);
    if (r == RP_EINPUT) {
        side_free(&sx);
        return 0;
    }
    if (r) {
        side_free(&sx);
        return r;
    }
    struct an_fd_msg mx = {sx.h, sx.hl, sx.b, sx.bl, kx->version};
    struct an_fd_msg my = {sy.h, sy.hl, sy.b, sy.bl, ky->version};
    r = an_field_diff(&mx, &my, on_diff, d);
    side_free(&sx);
    side_free(&sy);
    *compared = !r;
    return r == RP_ENOMEM ? rp_fail(err, RP_ENOMEM, "out of memory") : r;
}

static int cmp_key(const void *p, const void *q)
{
    const struct fkey *a = p, *b = q;
    if (a->ex != b->ex)
        return a->ex < b->ex ? -1 : 1;
    if (a->loop != b->loop)
        return a->loop < b->loop ? -1 : 1;
    return (a->copy > b->copy) - (a->copy < b->copy);
}

static void ignore_fields(struct an_analysis *a)
{
    const struct an_opts *o = a->o;
    for (int k = 0; k < o->nignore; k++)
        for (size_t i = 0; i < a->ngroups; i++) {
            struct an_group *g = a->groups[i];
            if (strcmp(o->ignore[k].endpoint, "*") &&
                strcmp(o->ignore[k].endpoint, g->key))
                continue;
            mark_noise(g, o->ignore[k].path, "--ignore-field");
        }
}

int an_fields_compute(struct an_analysis *a, struct corpus *c, char *err)
{
    struct an_fwork *w = a->fw;
    int r = 0, cmp;
    ignore_fields(a);
    if (!w)
        return 0;
    const struct an_set *base = &a->set[AN_BASE];
    /* the A/A run: its differences from the baseline are noise */
    for (size_t i = 0; !r && i < w->noise.n; i++) {
        struct dctx d = {w->noise.v[i].g, 1, "noise run"};
        r = diff_keys(c, base, &w->noise.v[i], &a->set[AN_NOISE],
                      &w->noise.v[i], &d, &cmp, err);
    }
    /* the candidate's own copies and loops of one exchange: a field that
     * differs between two answers to the same request is not the
     * release's doing */
    if (!r && w->cand.n) {
        qsort(w->cand.v, w->cand.n, sizeof *w->cand.v, cmp_key);
        for (size_t i = 1, first = 0; !r && i < w->cand.n; i++) {
            const struct fkey *k = &w->cand.v[i];
            if (k->ex != w->cand.v[first].ex) {
                first = i;
                continue;
            }
            struct dctx d = {k->g, 1, "candidate copies and loops"};
            r = diff_keys(c, &a->set[AN_CAND], &w->cand.v[first],
                          &a->set[AN_CAND], k, &d, &cmp, err);
        }
    }
    /* the baseline's own copies and loops of one exchange, against the
     * first of them; and the capture against the baseline, for times */
    if (!r && w->base.n) {
        qsort(w->base.v, w->base.n, sizeof *w->base.v, cmp_key);
        struct an_set cap = *base;
        cap.kind = CORPUS_SET_CAPTURE;
        cap.id = base->capture_id;
        for (size_t i = 0, first = 0; !r && i < w->base.n; i++) {
            const struct fkey *k = &w->base.v[i];
            if (i == 0 || k->ex != w->base.v[first].ex) {
                first = i;
                struct dctx d = {k->g, 2, "time (capture vs baseline)"};
                if (cap.id > 0)
                    r = diff_keys(c, &cap, k, base, k, &d, &cmp, err);
                continue;
            }
            struct dctx d = {k->g, 1, "baseline copies and loops"};
            r = diff_keys(c, base, &w->base.v[first], base, k, &d, &cmp,
                          err);
        }
    }
    /* the changes */
    for (size_t i = 0; !r && i < w->pairs.n; i++) {
        const struct fkey *k = &w->pairs.v[i];
        struct dctx d = {k->g, 0, NULL, base->kind == CORPUS_SET_CAPTURE};
        r = diff_keys(c, base, k, &a->set[AN_CAND], k, &d, &cmp, err);
        if (!r && cmp)
            k->g->fields.total++;
    }
    a->fields_dropped = w->pairs.dropped + w->noise.dropped +
                        w->base.dropped + w->cand.dropped;
    return r;
}

double an_field_share(const struct an_group *g, const struct an_field *f)
{
    return g->fields.total ? 100.0 * (double)f->changed /
                                 (double)g->fields.total
                           : 0;
}

double an_fields_max_share(const struct an_group *g,
                           const struct an_field **which)
{
    double best = 0;
    if (which)
        *which = NULL;
    for (size_t i = 0; i < g->fields.n; i++) {
        const struct an_field *f = &g->fields.f[i];
        if (f->noise || !f->changed)
            continue;
        double s = an_field_share(g, f);
        if (s > best) {
            best = s;
            if (which)
                *which = f;
        }
    }
    return best;
}
