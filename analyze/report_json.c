/*
 * report_json.c: the JSON report, a public contract for CI scripts. Times
 * are integer microseconds ("_us"), rates fractions 0..1, p-values 0..1;
 * a value that does not exist is null. Top level:
 *   reprise_version, baseline / candidate / noise (set: kind "capture" or
 *   "run", id, name, label, capture_id, [target, mode, status,
 *   lateness_p50_us, lateness_p99_us, lateness_max_us], samples, not_sent,
 *   warmup, duration_us; noise is null without --noise), settings (metric,
 *   group_by, alpha, threshold_pct, min_effect_us, min_count, warmup_us,
 *   fail_if), fail_if_not_judged ({condition, endpoints}: relative
 *   percentile conditions skipped on endpoints with fewer than 10 samples
 *   of a side beyond the percentile), verdict "pass" | "fail", overall (an
 *   endpoint object over all requests), group_by, endpoints (report order: failing, regressed, then
 *   by contribution), failed_conditions ({condition, endpoint, value,
 *   unit "percent" | "us"}), bottlenecks ({endpoint, contribution_us,
 *   delta_mean_us}), slowest ({exchange_id, copy, latency_us, status,
 *   endpoint}), timeline ({bucket_us, buckets: [{t_us, rps,
 *   completed_per_s, errors, p50_us, p99_us}]}) and saturation (null or
 *   {t_us, rps, p50_us}).
 * An endpoint object: endpoint, count (candidate requests), baseline and
 * candidate summaries ({count, errors, error_rate, status {"2xx": n...},
 * errors_by_class, timed, mean_us, p50_us, p90_us, p95_us, p99_us,
 * p999_us, min_us, max_us, rps, [service_p50_us, service_p99_us],
 * ttfb_p50_us}), [noise_run], change ({pXX_us, pXX_ratio, mean_us,
 * error_rate}), p_value and z (Mann-Whitney), p50_p_value and p99_p_value
 * (quantile tests), judged_tail ("p99", or "p90" when p99 would rest on
 * fewer than 10 samples of a side, or null), significant, effect,
 * beyond_noise, regressed,
 * improved, failed, noise_floor ({p50_us, p99_us} or null), compared,
 * status_changed ({count, share, examples}), body_changed ({count,
 * compared, share, examples}) and contribution_us.
 */
#include "analyze/an_priv.h"

#include <math.h>

static void num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

static void set_json(FILE *f, const struct an_set *s)
{
    char name[256];
    an_set_name(s, name, sizeof name);
    fprintf(f, "{\"kind\": \"%s\", \"id\": %lld, \"name\": ",
            s->kind == CORPUS_SET_CAPTURE ? "capture" : "run",
            (long long)s->id);
    an_json_str(f, name);
    fprintf(f, ", \"label\": ");
    if (s->label[0])
        an_json_str(f, s->label);
    else
        fputs("null", f);
    fprintf(f, ", \"capture_id\": %lld", (long long)s->capture_id);
    if (s->kind == CORPUS_SET_RUN) {
        fputs(", \"target\": ", f);
        an_json_str(f, s->target);
        fputs(", \"mode\": ", f);
        an_json_str(f, s->mode);
        fputs(", \"status\": ", f);
        an_json_str(f, s->status);
    }
    if (s->lateness)
        fprintf(f, ", \"lateness_p50_us\": %lld, \"lateness_p99_us\": %lld, "
                "\"lateness_max_us\": %lld",
                (long long)rp_hist_value_at_percentile(s->lateness, 50),
                (long long)rp_hist_value_at_percentile(s->lateness, 99),
                (long long)rp_hist_max(s->lateness));
    fprintf(f, ", \"samples\": %llu, \"not_sent\": %llu, \"warmup\": %llu, "
            "\"duration_us\": %lld}", (unsigned long long)s->samples,
            (unsigned long long)s->not_sent, (unsigned long long)s->warmup,
            (long long)an_set_duration_us(s));
}

static void summary_json(FILE *f, const struct an_summary *s,
                         const struct an_side *side, int run)
{
    fprintf(f, "{\"count\": %llu, \"errors\": %llu, \"error_rate\": ",
            (unsigned long long)s->count, (unsigned long long)s->errors);
    num(f, s->error_rate);
    fputs(", \"status\": {", f);
    static const char *cls[6] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
    int first = 1;
    for (int i = 0; i < 6; i++) {
        if (!side->status_class[i])
            continue;
        fprintf(f, "%s\"%s\": %llu", first ? "" : ", ", cls[i],
                (unsigned long long)side->status_class[i]);
        first = 0;
    }
    fputs("}, \"errors_by_class\": {", f);
    first = 1;
    for (int i = 1; i < CORPUS_ERR__COUNT; i++) {
        if (!side->errclass[i])
            continue;
        fprintf(f, "%s\"%s\": %llu", first ? "" : ", ",
                corpus_errclass_name((enum corpus_errclass)i),
                (unsigned long long)side->errclass[i]);
        first = 0;
    }
    fprintf(f, "}, \"timed\": %llu, \"mean_us\": ",
            (unsigned long long)rp_hist_count(side->lat));
    num(f, round(s->mean_us));
    for (int i = 0; i < AN_NPCT; i++)
        fprintf(f, ", \"%s_us\": %lld", an_pct_key[i],
                (long long)s->pct_us[i]);
    fprintf(f, ", \"min_us\": %lld, \"max_us\": %lld, \"rps\": ",
            (long long)s->min_us, (long long)s->max_us);
    num(f, s->rps);
    if (run)
        fprintf(f, ", \"service_p50_us\": %lld, \"service_p99_us\": %lld",
                (long long)s->svc_p50_us, (long long)s->svc_p99_us);
    fprintf(f, ", \"ttfb_p50_us\": %lld}", (long long)s->ttfb_p50_us);
}

static void examples(FILE *f, const int64_t *ex, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%lld", i ? ", " : "", (long long)ex[i]);
    fputc(']', f);
}

static void group_json(FILE *f, const struct an_analysis *a,
                       const struct an_group *g, const char *keyname)
{
    const struct an_summary *b = &g->sum[AN_BASE], *c = &g->sum[AN_CAND];
    fprintf(f, "{\"%s\": ", keyname);
    an_json_str(f, g->key);
    fprintf(f, ", \"count\": %llu, \"baseline\": ",
            (unsigned long long)c->count);
    summary_json(f, b, &g->side[AN_BASE],
                 a->set[AN_BASE].kind == CORPUS_SET_RUN);
    fputs(", \"candidate\": ", f);
    summary_json(f, c, &g->side[AN_CAND], 1);
    if (a->set[AN_NOISE].present) {
        fputs(", \"noise_run\": ", f);
        summary_json(f, &g->sum[AN_NOISE], &g->side[AN_NOISE], 1);
    }
    fputs(", \"change\": {", f);
    for (int i = 0; i < AN_NPCT; i++) {
        fprintf(f, "%s\"%s_us\": %lld, \"%s_ratio\": ", i ? ", " : "",
                an_pct_key[i], (long long)(c->pct_us[i] - b->pct_us[i]),
                an_pct_key[i]);
        num(f, b->pct_us[i] ? (double)c->pct_us[i] / (double)b->pct_us[i]
                            : NAN);
    }
    fputs(", \"mean_us\": ", f);
    num(f, round(c->mean_us - b->mean_us));
    fputs(", \"error_rate\": ", f);
    num(f, c->error_rate - b->error_rate);
    fputs("}, \"p_value\": ", f);
    num(f, g->mw.p);
    fputs(", \"z\": ", f);
    num(f, g->mw.z);
    fputs(", \"p50_p_value\": ", f);
    num(f, g->q50.p);
    fputs(", \"p99_p_value\": ", f);
    num(f, g->q99.p);
    if (g->tail >= 0)
        fprintf(f, ", \"judged_tail\": \"%s\"", an_pct_name[g->tail]);
    else
        fputs(", \"judged_tail\": null", f);
    fprintf(f, ", \"significant\": %s, \"effect\": %s, \"beyond_noise\": %s"
            ", \"regressed\": %s, \"improved\": %s, \"failed\": %s",
            g->significant ? "true" : "false", g->effect ? "true" : "false",
            g->beyond_noise ? "true" : "false",
            g->regressed ? "true" : "false", g->improved ? "true" : "false",
            g->failed ? "true" : "false");
    if (g->noise_us[0] >= 0)
        fprintf(f, ", \"noise_floor\": {\"p50_us\": %lld, \"p99_us\": %lld}",
                (long long)g->noise_us[0], (long long)g->noise_us[1]);
    else
        fputs(", \"noise_floor\": null", f);
    fprintf(f, ", \"compared\": %llu, \"status_changed\": {\"count\": %llu, "
            "\"share\": ", (unsigned long long)g->compared,
            (unsigned long long)g->status_changed);
    num(f, g->compared ? (double)g->status_changed / (double)g->compared : 0);
    fputs(", \"examples\": ", f);
    examples(f, g->status_ex, g->n_status_ex);
    fprintf(f, "}, \"body_changed\": {\"count\": %llu, \"compared\": %llu, "
            "\"share\": ", (unsigned long long)g->body_changed,
            (unsigned long long)g->body_compared);
    num(f, g->body_compared ? (double)g->body_changed /
                                  (double)g->body_compared : 0);
    fputs(", \"examples\": ", f);
    examples(f, g->body_ex, g->n_body_ex);
    fputs("}, \"contribution_us\": ", f);
    num(f, round(g->contribution_us));
    fputc('}', f);
}

int an_report_json(const struct an_analysis *a, FILE *f)
{
    const struct an_opts *o = a->o;
    fprintf(f, "{\"reprise_version\": \"%s\",\n\"baseline\": ", RP_VERSION);
    set_json(f, &a->set[AN_BASE]);
    fputs(",\n\"candidate\": ", f);
    set_json(f, &a->set[AN_CAND]);
    fputs(",\n\"noise\": ", f);
    if (a->set[AN_NOISE].present)
        set_json(f, &a->set[AN_NOISE]);
    else
        fputs("null", f);
    fprintf(f, ",\n\"settings\": {\"metric\": \"%s\", \"group_by\": \"%s\", "
            "\"alpha\": ", o->metric == AN_METRIC_SERVICE ? "service"
                                                          : "latency",
            an_group_by_name(o->group_by));
    num(f, o->alpha);
    fputs(", \"threshold_pct\": ", f);
    num(f, o->threshold_pct);
    fprintf(f, ", \"min_effect_us\": %lld, \"min_count\": %lld, "
            "\"warmup_us\": %lld, \"fail_if\": [", (long long)o->min_effect_us,
            (long long)o->min_count, (long long)o->warmup_us);
    for (int i = 0; i < o->ncond; i++) {
        if (i)
            fputs(", ", f);
        an_json_str(f, o->cond[i].text);
    }
    fputs("]},\n\"fail_if_not_judged\": [", f);
    for (int i = 0, n = 0; i < o->ncond; i++) {
        if (!a->unjudged[i])
            continue;
        fputs(n++ ? ", {\"condition\": " : "{\"condition\": ", f);
        an_json_str(f, o->cond[i].text);
        fprintf(f, ", \"endpoints\": %d}", a->unjudged[i]);
    }
    fprintf(f, "],\n\"verdict\": \"%s\",\n\"overall\": ",
            a->verdict_fail ? "fail" : "pass");
    group_json(f, a, &a->all, "endpoint");
    fprintf(f, ",\n\"group_by\": \"%s\",\n\"endpoints\": [",
            an_group_by_name(o->group_by));
    for (size_t i = 0; i < a->ngroups; i++) {
        fputs(i ? ",\n  " : "\n  ", f);
        group_json(f, a, a->groups[a->order[i]], "endpoint");
    }
    fputs("\n],\n\"failed_conditions\": [", f);
    for (size_t i = 0; i < a->nfail; i++) {
        const struct an_failure *x = &a->fail[i];
        fputs(i ? ",\n  " : "\n  ", f);
        fputs("{\"condition\": ", f);
        an_json_str(f, o->cond[x->cond].text);
        fputs(", \"endpoint\": ", f);
        an_json_str(f, x->group->key);
        fputs(", \"value\": ", f);
        num(f, x->value);
        fprintf(f, ", \"unit\": \"%s\"}",
                o->cond[x->cond].percent ? "percent" : "us");
    }
    fputs("],\n\"bottlenecks\": [", f);
    const struct an_group *top[10];
    int nt = an_top_contributors(a, top, 10);
    for (int k = 0; k < nt; k++) {
        fputs(k ? ", " : "", f);
        fputs("{\"endpoint\": ", f);
        an_json_str(f, top[k]->key);
        fputs(", \"contribution_us\": ", f);
        num(f, round(top[k]->contribution_us));
        fputs(", \"delta_mean_us\": ", f);
        num(f, round(top[k]->sum[AN_CAND].mean_us -
                     top[k]->sum[AN_BASE].mean_us));
        fputc('}', f);
    }
    fputs("],\n\"slowest\": [", f);
    for (int i = 0; i < a->nslow; i++) {
        const struct an_slow *s = &a->slow[i];
        fprintf(f, "%s{\"exchange_id\": %lld, \"copy\": %d, \"latency_us\": "
                "%lld, \"status\": %d, \"endpoint\": ", i ? ", " : "",
                (long long)s->exchange_id, s->copy, (long long)s->latency_us,
                s->status);
        an_json_str(f, s->endpoint);
        fputc('}', f);
    }
    fprintf(f, "],\n\"timeline\": {\"bucket_us\": %lld, \"buckets\": [",
            (long long)a->tick_us);
    for (size_t i = 0; i < a->nticks; i++) {
        const struct an_tick *t = &a->tick[i];
        double secs = (double)a->tick_us / 1e6;
        fprintf(f, "%s{\"t_us\": %lld, \"rps\": ", i ? ",\n  " : "\n  ",
                (long long)i * a->tick_us);
        num(f, (double)t->due / secs);
        fputs(", \"completed_per_s\": ", f);
        num(f, (double)t->done / secs);
        fprintf(f, ", \"errors\": %llu, \"p50_us\": %lld, \"p99_us\": %lld}",
                (unsigned long long)t->errors,
                (long long)(t->lat ? rp_hist_value_at_percentile(t->lat, 50) : 0),
                (long long)(t->lat ? rp_hist_value_at_percentile(t->lat, 99) : 0));
    }
    fputs("]},\n\"saturation\": ", f);
    if (a->saturated) {
        fprintf(f, "{\"t_us\": %lld, \"rps\": ", (long long)a->sat_t_us);
        num(f, a->sat_rps);
        fprintf(f, ", \"p50_us\": %lld}", (long long)a->sat_p50_us);
    } else {
        fputs("null", f);
    }
    fputs("\n}\n", f);
    return ferror(f) ? RP_EIO : 0;
}
