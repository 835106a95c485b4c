/*
 * report_util.c: small formatting helpers shared by the report writers.
 */
#include "analyze/an_priv.h"

#include <math.h>
#include <string.h>

#include "common/buf.h"

void an_fmt_us(double us, char *out, size_t n)
{
    if (isnan(us)) {
        snprintf(out, n, "-");
        return;
    }
    double a = fabs(us);
    if (a < 1000)
        snprintf(out, n, "%.0fus", us);
    else if (a < 10000)
        snprintf(out, n, "%.2fms", us / 1e3);
    else if (a < 1e6)
        snprintf(out, n, "%.1fms", us / 1e3);
    else if (a < 60e6)
        snprintf(out, n, "%.2fs", us / 1e6);
    else
        snprintf(out, n, "%dm%02ds", (int)(us / 60e6),
                 (int)fmod(a / 1e6, 60));
}

void an_set_name(const struct an_set *s, char *out, size_t n)
{
    if (s->kind == CORPUS_SET_CAPTURE)
        snprintf(out, n, "capture %lld", (long long)s->id);
    else if (s->label[0])
        snprintf(out, n, "run %lld '%s'", (long long)s->id, s->label);
    else
        snprintf(out, n, "run %lld", (long long)s->id);
}

void an_json_str(FILE *f, const char *s)
{
    struct rp_buf b;
    rp_buf_init(&b, 0);
    if (rp_buf_json_str(&b, s ? s : "", s ? strlen(s) : 0) == 0 && b.data)
        fputs(b.data, f);
    else
        fputs("\"\"", f);
    rp_buf_cleanup(&b);
}

const char *an_group_by_name(enum an_group_by g)
{
    switch (g) {
    case AN_BY_ENDPOINT: return "endpoint";
    case AN_BY_HOST: return "host";
    case AN_BY_STATUS: return "status";
    case AN_BY_NONE: return "none";
    }
    return "?";
}

void an_status_key_name(int key, char *out, size_t n)
{
    if (key < 0)
        snprintf(out, n, "%s", corpus_errclass_name((enum corpus_errclass)-key));
    else if (key == 0)
        snprintf(out, n, "none");
    else
        snprintf(out, n, "%d", key);
}

void an_fmt_pct(const struct an_summary *s, int pi, char *out, size_t n)
{
    if (!s->count)
        snprintf(out, n, "-");
    else if (!s->timed)
        snprintf(out, n, "none");
    else
        an_fmt_us((double)s->pct_us[pi], out, n);
}

void an_fmt_change(const struct an_summary *b, const struct an_summary *c,
                   int pi, char *out, size_t n)
{
    if (!b->count || !c->count) {
        snprintf(out, n, "-");
        return;
    }
    if (!b->timed || !c->timed) {
        snprintf(out, n, "none");
        return;
    }
    double p = an_pct_change((double)b->pct_us[pi], (double)c->pct_us[pi]);
    if (isnan(p))
        snprintf(out, n, "-");
    else
        snprintf(out, n, "%+.1f%%", p);
}

void an_each_set_line(const struct an_analysis *a, an_line_fn fn, void *arg)
{
    const struct an_opts *o = a->o;
    for (int i = 0; i < AN_NSIDES; i++) {
        const struct an_set *s = &a->set[i];
        if (!s->present)
            continue;
        char line[1024], nm[256], t[4][32];
        an_set_name(s, nm, sizeof nm);
        an_fmt_us((double)an_set_duration_us(s), t[0], sizeof t[0]);
        int w = snprintf(line, sizeof line, "%s: %llu samples over %s", nm,
                         (unsigned long long)s->samples, t[0]);
        size_t u = w > 0 ? (size_t)w : 0;
#define ADD(...)                                                             \
    do {                                                                     \
        if (u < sizeof line) {                                               \
            int w_ = snprintf(line + u, sizeof line - u, __VA_ARGS__);       \
            u += w_ > 0 ? (size_t)w_ : 0;                                    \
        }                                                                    \
    } while (0)
        if (s->not_sent)
            ADD(", %llu never sent", (unsigned long long)s->not_sent);
        if (s->warmup)
            ADD(", %llu in the warmup", (unsigned long long)s->warmup);
        if (s->kind == CORPUS_SET_RUN) {
            ADD(" (target %s, mode %s", s->target, s->mode);
            if (!strcmp(s->mode, "speed") && s->speed > 0)
                ADD(" %gx", s->speed);
            else if (!strcmp(s->mode, "rate") && s->rate > 0)
                ADD(" %g/s", s->rate);
            else if (!strcmp(s->mode, "max") && s->concurrency > 0)
                ADD(" --concurrency %d", s->concurrency);
            if (s->scale > 1)
                ADD(", scale %d", s->scale);
            if (s->engine[0])
                ADD(", engine %s", s->engine);
            ADD(", %s)", s->status);
            if (s->uncorrelated >= 0)
                ADD("; correlated %s, %lld requests sent back a value that "
                    "could not be correlated",
                    s->correlated[0] ? s->correlated : "none",
                    (long long)s->uncorrelated);
        }
        fn(arg, i, line);
        const struct an_summary *m = &a->all.sum[i];
        u = 0;
        line[0] = '\0';
        ADD("%.0f req/s, %.2f%% errors, ", m->rps, m->error_rate * 100);
        if (!m->timed) {
            ADD("latency none (no responses)");
        } else {
            an_fmt_us((double)m->pct_us[0], t[0], sizeof t[0]);
            an_fmt_us((double)m->pct_us[3], t[1], sizeof t[1]);
            ADD("%s p50 %s p99 %s",
                o->metric == AN_METRIC_SERVICE ? "service" : "latency", t[0],
                t[1]);
            if (s->kind == CORPUS_SET_RUN && o->metric == AN_METRIC_LATENCY) {
                an_fmt_us((double)m->svc_p50_us, t[2], sizeof t[2]);
                an_fmt_us((double)m->svc_p99_us, t[3], sizeof t[3]);
                ADD("; service time p50 %s p99 %s", t[2], t[3]);
            }
        }
        if (s->late_p99_us >= 0) {
            an_fmt_us((double)s->late_p99_us, t[0], sizeof t[0]);
            ADD("; lateness p99 %s%s", t[0],
                s->starved ? " (fell behind its schedule)" : "");
        }
#undef ADD
        fn(arg, i, line);
    }
}

void an_each_error_line(const struct an_analysis *a, int side, an_line_fn fn,
                        void *arg)
{
    const struct an_set *s = &a->set[side];
    const struct an_summary *m = &a->all.sum[side];
    const struct an_side *sd = &a->all.side[side];
    /* most common first */
    int idx[AN_MAX_MSGS];
    for (int i = 0; i < s->nmsg; i++)
        idx[i] = i;
    for (int i = 1; i < s->nmsg; i++)
        for (int j = i; j > 0 && s->msg[idx[j - 1]].count <
                                     s->msg[idx[j]].count; j--) {
            int t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    char line[AN_MSGLEN + 96];
    for (int i = 0; i < s->nmsg; i++) {
        const struct an_msg *x = &s->msg[idx[i]];
        snprintf(line, sizeof line, "%s %llu (%.1f%%): %s",
                 corpus_errclass_name(x->cls), (unsigned long long)x->count,
                 m->count ? 100.0 * (double)x->count / (double)m->count : 0,
                 x->text[0] ? x->text : "(no message)");
        fn(arg, side, line);
    }
    if (s->msg_other) {
        snprintf(line, sizeof line, "%llu more failures with other messages",
                 (unsigned long long)s->msg_other);
        fn(arg, side, line);
    }
    if (sd->status_class[5]) {
        snprintf(line, sizeof line, "5xx %llu (%.1f%%): server errors",
                 (unsigned long long)sd->status_class[5],
                 m->count ? 100.0 * (double)sd->status_class[5] /
                                (double)m->count : 0);
        fn(arg, side, line);
    }
}

void an_each_transition(const struct an_group *g, an_line_fn fn, void *arg)
{
    char line[256], from[32], to[32];
    for (int i = 0; i < g->ntrans; i++) {
        const struct an_trans *t = &g->trans[i];
        an_status_key_name(t->from, from, sizeof from);
        an_status_key_name(t->to, to, sizeof to);
        int w = snprintf(line, sizeof line, "%s -> %s: %llu (e.g.", from, to,
                         (unsigned long long)t->count);
        size_t u = w > 0 ? (size_t)w : 0;
        for (int k = 0; k < t->nex && u < sizeof line; k++) {
            w = snprintf(line + u, sizeof line - u, " %lld",
                         (long long)t->ex[k]);
            u += w > 0 ? (size_t)w : 0;
        }
        if (u < sizeof line)
            snprintf(line + u, sizeof line - u, ")");
        fn(arg, 0, line);
    }
    if (g->trans_other) {
        snprintf(line, sizeof line, "%llu more changes of other kinds",
                 (unsigned long long)g->trans_other);
        fn(arg, 0, line);
    }
}

int an_each_field_line(const struct an_analysis *a, int noise, an_line_fn fn,
                       void *arg)
{
    char line[1024];
    int n = 0;
    for (size_t i = 0; i < a->ngroups; i++) {
        const struct an_group *g = a->groups[a->order ? a->order[i] : i];
        for (size_t j = 0; j < g->fields.n; j++) {
            const struct an_field *f = &g->fields.f[j];
            if (noise) {
                if (!f->noise)
                    continue;
                snprintf(line, sizeof line, "%s  %s (%s; differed %llu "
                         "time%s as noise)", g->key, f->path, f->noise_src,
                         (unsigned long long)f->noise_hits,
                         f->noise_hits == 1 ? "" : "s");
            } else {
                if (f->noise || !f->changed)
                    continue;
                snprintf(line, sizeof line, "%s  %s %s in %llu/%llu "
                         "(%.1f%%): %s -> %s", g->key, f->path,
                         f->kind == 1 ? "added" : f->kind == 2 ? "removed"
                                                            : "changed",
                         (unsigned long long)f->changed,
                         (unsigned long long)g->fields.total,
                         an_field_share(g, f), f->nex ? f->ex_b[0] : "",
                         f->nex ? f->ex_c[0] : "");
            }
            fn(arg, noise, line);
            n++;
        }
    }
    return n;
}

void an_json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

void an_html_str(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}
