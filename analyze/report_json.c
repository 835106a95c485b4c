/*
 * report_json.c: the JSON report, a public contract for CI scripts. Times
 * are integer microseconds ("_us"), rates fractions 0..1, p-values 0..1;
 * a value that does not exist is null (a latency of a side whose requests
 * all failed is null, never 0). Top level:
 *   reprise_version, baseline / candidate / noise (set: kind "capture" or
 *   "run", id, name, label, capture_id, [target, mode, status, speed,
 *   rate, concurrency, scale, engine, lateness_p50_us, lateness_p99_us,
 *   lateness_max_us, and for a run that correlated: correlated (values by
 *   kind as text, "cookie 105 bearer 24"), uncorrelated_requests], starved (its generator fell behind its schedule),
 *   samples, not_sent, warmup, duration_us, error_messages ({class,
 *   count, message}: the most common, numbers that vary written N); noise
 *   is null without --noise), settings (metric, group_by, alpha,
 *   threshold_pct, min_effect_us, min_count, warmup_us, max_lateness_us,
 *   allow_all_errors, fail_if: the conditions given, default_gates: the
 *   default gates applied), verdict "pass" | "fail" | "inconclusive",
 *   verdict_reasons ({kind "fail" | "inconclusive" | "info", decides:
 *   true for the reasons of this verdict, text}: why, and what to know), noise_suspect (null, or why the noise run is not an
 *   A/A twin), fail_if_not_judged ({condition, endpoints, moved}:
 *   percentile conditions not judgeable even at p50 on that many
 *   endpoints, of which moved significantly), fail_if_fallback
 *   ({condition, judged_at, endpoints}: judged at a lower percentile),
 *   overall (an endpoint object over all requests), group_by, endpoints
 *   (report order: failing, regressed, then by contribution),
 *   failed_conditions ({condition, default, endpoint, value, unit "percent"
 *   | "points" | "us", judged_at}), bottlenecks ({endpoint,
 *   contribution_us, delta_mean_us}), slowest ({exchange_id, copy, loop,
 *   latency_us, status, endpoint}), timeline ({bucket_us, buckets: [{t_us,
 *   rps, sent_per_s, completed_per_s, errors, p50_us, p99_us}]}) and
 *   saturation (null or {t_us, rps: achieved, offered_rps,
 *   inflight_start, inflight_end, little_inflight, p50_us}), capacity
 *   (null unless the candidate was replayed with --steps; else
 *   {max_sustained_rps, sustained_step, knee_step, knee_multiple,
 *   knee_reason, generator_limited, step_by, stopped_by, limiting_endpoint,
 *   limiting_endpoint_p90_ratio, limiting_endpoint_demand_share,
 *   saturated_series: [names], saturated: [{name, source, why}], usl
 *   ({lambda, sigma, kappa, peak_inflight, peak_rps, r2} or null), monitor
 *   ({series, scrapes, scrapes_failed, first_error, series_dropped}),
 *   steps: [{step, multiple, start_us, end_us, due, offered_rps,
 *   achieved_rps, p50_us, p90_us, p99_us, errors, error_rate, inflight,
 *   little_inflight, lateness_p99_us, kept_up, slo_ok, generator_limited,
 *   series: {gauge name: mean}}]}), capacity_baseline (the same, when the
 *   baseline is stepped), capacity_change_pct (null unless both are),
 *   field_changes ([{endpoint, path, kind: changed|added|removed, changed,
 *   total, share, examples: [{baseline, candidate}]}]: response fields that
 *   differed, not noise, counted once per compared exchange) and
 *   noise_fields ([{endpoint, path, source, differed}]: fields that also
 *   differ where nothing changed: source "noise run", "baseline copies and
 *   loops", "time (capture vs baseline)" or "--ignore-field").
 * An endpoint object: endpoint, count (candidate requests), baseline and
 * candidate summaries ({count, errors, error_rate, status {"2xx": n...},
 * errors_by_class, timed, mean_us, p50_us, p90_us, p95_us, p99_us,
 * p999_us, min_us, max_us, rps, [service_p50_us, service_p99_us],
 * ttfb_p50_us}), [noise_run], change ({pXX_us, pXX_ratio, mean_us,
 * error_rate}; latency keys null when a side has no responses), p_value
 * and z (Mann-Whitney), p50_p_value and p99_p_value (quantile tests),
 * judged_tail ("p99", or "p90" when p99 would rest on fewer than 10
 * samples of a side, or null), significant, effect, beyond_noise,
 * regressed, improved, failed, noise_floor ({p50_us, p99_us} or null),
 * compared, status_matched ({count, share}: the candidate answered the
 * baseline's status for the same exchange; share null when none compared),
 * status_changed ({count, share, examples, transitions: [{from,
 * to, count, examples}]}: from/to a status code, "none" or an error
 * class), status_mix ({points, p_value}), body_changed ({count, compared,
 * share, examples}) and contribution_us.
 */
#include "analyze/an_priv.h"

#include <math.h>

/* ,"field_changes": [...], "noise_fields": [...] */
static void fields_json(const struct an_analysis *a, FILE *f)
{
    static const char *const kinds[] = {"changed", "added", "removed"};
    for (int noise = 0; noise < 2; noise++) {
        fprintf(f, ",\n\"%s\": [", noise ? "noise_fields" : "field_changes");
        int first = 1;
        for (size_t i = 0; i < a->ngroups; i++) {
            const struct an_group *g = a->groups[a->order ? a->order[i] : i];
            for (size_t j = 0; j < g->fields.n; j++) {
                const struct an_field *x = &g->fields.f[j];
                if (noise ? !x->noise : (x->noise || !x->changed))
                    continue;
                fputs(first ? "\n  {\"endpoint\": " : ",\n  {\"endpoint\": ",
                      f);
                first = 0;
                an_json_str(f, g->key);
                fputs(", \"path\": ", f);
                an_json_str(f, x->path);
                if (noise) {
                    fputs(", \"source\": ", f);
                    an_json_str(f, x->noise_src);
                    fprintf(f, ", \"differed\": %llu}",
                            (unsigned long long)x->noise_hits);
                    continue;
                }
                fprintf(f, ", \"kind\": \"%s\", \"changed\": %llu, "
                           "\"total\": %llu, \"share\": ",
                        kinds[x->kind >= 0 && x->kind < 3 ? x->kind : 0],
                        (unsigned long long)x->changed,
                        (unsigned long long)g->fields.total);
                an_json_num(f, an_field_share(g, x) / 100);
                fputs(", \"examples\": [", f);
                for (int k = 0; k < x->nex; k++) {
                    fputs(k ? ", {\"baseline\": " : "{\"baseline\": ", f);
                    an_json_str(f, x->ex_b[k]);
                    fputs(", \"candidate\": ", f);
                    an_json_str(f, x->ex_c[k]);
                    fputc('}', f);
                }
                fputs("]}", f);
            }
        }
        fputs(first ? "]" : "\n]", f);
    }
}


static void opt_num(FILE *f, const char *key, int present, double v)
{
    fprintf(f, ", \"%s\": ", key);
    if (present)
        an_json_num(f, v);
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
        opt_num(f, "speed", s->speed > 0, s->speed);
        opt_num(f, "rate", s->rate > 0, s->rate);
        opt_num(f, "concurrency", s->concurrency > 0, s->concurrency);
        opt_num(f, "scale", s->scale > 0, s->scale);
        fputs(", \"engine\": ", f);
        if (s->engine[0])
            an_json_str(f, s->engine);
        else
            fputs("null", f);
        if (s->uncorrelated >= 0) {
            fputs(", \"correlated\": ", f);
            an_json_str(f, s->correlated);
            fprintf(f, ", \"uncorrelated_requests\": %lld",
                    (long long)s->uncorrelated);
        }
    }
    fprintf(f, ", \"starved\": %s", s->starved ? "true" : "false");
    if (s->lateness)
        fprintf(f, ", \"lateness_p50_us\": %lld, \"lateness_p99_us\": %lld, "
                "\"lateness_max_us\": %lld",
                (long long)rp_hist_value_at_percentile(s->lateness, 50),
                (long long)rp_hist_value_at_percentile(s->lateness, 99),
                (long long)rp_hist_max(s->lateness));
    fprintf(f, ", \"samples\": %llu, \"not_sent\": %llu, \"warmup\": %llu, "
            "\"duration_us\": %lld, \"error_messages\": [",
            (unsigned long long)s->samples, (unsigned long long)s->not_sent,
            (unsigned long long)s->warmup, (long long)an_set_duration_us(s));
    for (int i = 0; i < s->nmsg; i++) {
        fprintf(f, "%s{\"class\": \"%s\", \"count\": %llu, \"message\": ",
                i ? ", " : "", corpus_errclass_name(s->msg[i].cls),
                (unsigned long long)s->msg[i].count);
        an_json_str(f, s->msg[i].text);
        fputc('}', f);
    }
    fputs("]}", f);
}

static void summary_json(FILE *f, const struct an_summary *s,
                         const struct an_side *side, int run)
{
    fprintf(f, "{\"count\": %llu, \"errors\": %llu, \"error_rate\": ",
            (unsigned long long)s->count, (unsigned long long)s->errors);
    an_json_num(f, s->error_rate);
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
    int t = s->timed > 0;
    an_json_num(f, t ? round(s->mean_us) : NAN);
    for (int i = 0; i < AN_NPCT; i++) {
        char key[16];
        snprintf(key, sizeof key, "%s_us", an_pct_key[i]);
        opt_num(f, key, t, (double)s->pct_us[i]);
    }
    opt_num(f, "min_us", t, (double)s->min_us);
    opt_num(f, "max_us", t, (double)s->max_us);
    fputs(", \"rps\": ", f);
    an_json_num(f, s->rps);
    if (run) {
        opt_num(f, "service_p50_us", t, (double)s->svc_p50_us);
        opt_num(f, "service_p99_us", t, (double)s->svc_p99_us);
    }
    opt_num(f, "ttfb_p50_us", t, (double)s->ttfb_p50_us);
    fputc('}', f);
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
    int both = b->timed && c->timed;
    for (int i = 0; i < AN_NPCT; i++) {
        fprintf(f, "%s\"%s_us\": ", i ? ", " : "", an_pct_key[i]);
        an_json_num(f, both ? (double)(c->pct_us[i] - b->pct_us[i]) : NAN);
        fprintf(f, ", \"%s_ratio\": ", an_pct_key[i]);
        an_json_num(f, both && b->pct_us[i] ? (double)c->pct_us[i] /
                                          (double)b->pct_us[i]
                                    : NAN);
    }
    fputs(", \"mean_us\": ", f);
    an_json_num(f, both ? round(c->mean_us - b->mean_us) : NAN);
    fputs(", \"error_rate\": ", f);
    an_json_num(f, c->error_rate - b->error_rate);
    fputs("}, \"p_value\": ", f);
    an_json_num(f, g->mw.p);
    fputs(", \"z\": ", f);
    an_json_num(f, g->mw.z);
    fputs(", \"p50_p_value\": ", f);
    an_json_num(f, g->q50.p);
    fputs(", \"p99_p_value\": ", f);
    an_json_num(f, g->q99.p);
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
    fprintf(f, ", \"compared\": %llu, \"status_matched\": {\"count\": %llu,"
            " \"share\": ", (unsigned long long)g->compared,
            (unsigned long long)(g->compared - g->status_changed));
    if (g->compared)
        an_json_num(f, (double)(g->compared - g->status_changed) /
                   (double)g->compared);
    else
        fputs("null", f);
    fprintf(f, "}, \"status_changed\": {\"count\": %llu, \"share\": ",
            (unsigned long long)g->status_changed);
    an_json_num(f, g->compared ? (double)g->status_changed / (double)g->compared : 0);
    fputs(", \"examples\": ", f);
    examples(f, g->status_ex, g->n_status_ex);
    fputs(", \"transitions\": [", f);
    for (int i = 0; i < g->ntrans; i++) {
        const struct an_trans *t = &g->trans[i];
        char from[32], to[32];
        an_status_key_name(t->from, from, sizeof from);
        an_status_key_name(t->to, to, sizeof to);
        fprintf(f, "%s{\"from\": \"%s\", \"to\": \"%s\", \"count\": %llu, "
                "\"examples\": ", i ? ", " : "", from, to,
                (unsigned long long)t->count);
        examples(f, t->ex, t->nex);
        fputc('}', f);
    }
    fputs("]}, \"status_mix\": {\"points\": ", f);
    an_json_num(f, g->mix_pts);
    fputs(", \"p_value\": ", f);
    an_json_num(f, g->mix_p);
    fprintf(f, "}, \"body_changed\": {\"count\": %llu, \"compared\": %llu, "
            "\"share\": ", (unsigned long long)g->body_changed,
            (unsigned long long)g->body_compared);
    an_json_num(f, g->body_compared ? (double)g->body_changed /
                                  (double)g->body_compared : 0);
    fputs(", \"examples\": ", f);
    examples(f, g->body_ex, g->n_body_ex);
    fputs("}, \"contribution_us\": ", f);
    an_json_num(f, round(g->contribution_us));
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
    an_json_num(f, o->alpha);
    fputs(", \"threshold_pct\": ", f);
    an_json_num(f, o->threshold_pct);
    fprintf(f, ", \"min_effect_us\": %lld, \"min_count\": %lld, "
            "\"warmup_us\": %lld, \"max_lateness_us\": %lld, "
            "\"allow_all_errors\": %s, \"fail_if\": [",
            (long long)o->min_effect_us, (long long)o->min_count,
            (long long)o->warmup_us, (long long)o->max_lateness_us,
            o->allow_all_errors ? "true" : "false");
    for (int i = 0; i < o->nuser; i++) {
        if (i)
            fputs(", ", f);
        an_json_str(f, o->cond[i].text);
    }
    fputs("], \"default_gates\": [", f);
    for (int i = o->nuser; i < o->ncond; i++) {
        if (i > o->nuser)
            fputs(", ", f);
        an_json_str(f, o->cond[i].text);
    }
    fputs("]},\n\"fail_if_not_judged\": [", f);
    for (int i = 0, n = 0; i < o->ncond; i++) {
        if (!a->unjudged[i])
            continue;
        fputs(n++ ? ", {\"condition\": " : "{\"condition\": ", f);
        an_json_str(f, o->cond[i].text);
        fprintf(f, ", \"endpoints\": %d, \"moved\": %d}", a->unjudged[i],
                a->unjudged_moved[i]);
    }
    fputs("],\n\"fail_if_fallback\": [", f);
    for (int i = 0, n = 0; i < o->ncond; i++)
        for (int pi = 0; pi < AN_NPCT; pi++) {
            if (!a->fallback[i][pi])
                continue;
            fputs(n++ ? ", {\"condition\": " : "{\"condition\": ", f);
            an_json_str(f, o->cond[i].text);
            fprintf(f, ", \"judged_at\": \"%s\", \"endpoints\": %d}",
                    an_pct_name[pi], a->fallback[i][pi]);
        }
    static const char *const verdicts[] = {"pass", "fail", "inconclusive"};
    static const char *const kinds[] = {"fail", "inconclusive", "info"};
    fprintf(f, "],\n\"verdict\": \"%s\",\n\"verdict_reasons\": [",
            verdicts[a->verdict]);
    for (int i = 0; i < a->nnotes; i++) {
        fprintf(f, "%s{\"kind\": \"%s\", \"decides\": %s, \"text\": ",
                i ? ",\n  " : "\n  ", kinds[a->note[i].kind],
                an_note_decides(a, &a->note[i]) ? "true" : "false");
        an_json_str(f, a->note[i].text);
        fputc('}', f);
    }
    fputs("],\n\"noise_suspect\": ", f);
    if (a->noise_suspect)
        an_json_str(f, a->noise_why);
    else
        fputs("null", f);
    fputs(",\n\"overall\": ", f);
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
        const struct an_cond *k = &o->cond[x->cond];
        fputs("{\"condition\": ", f);
        an_json_str(f, k->text);
        fprintf(f, ", \"default\": %s, \"endpoint\": ",
                k->dflt ? "true" : "false");
        an_json_str(f, x->group->key);
        fputs(", \"value\": ", f);
        an_json_num(f, x->value);
        fprintf(f, ", \"unit\": \"%s\", \"judged_at\": ",
                (k->metric == AN_CM_ERRORS && k->relative) ||
                        k->metric == AN_CM_STATUS_MIX ? "points"
                : k->percent ? "percent" : "us");
        if (x->pi >= 0)
            fprintf(f, "\"%s\"}", an_pct_name[x->pi]);
        else
            fputs("null}", f);
    }
    fputs("],\n\"bottlenecks\": [", f);
    const struct an_group *top[10];
    int nt = an_top_contributors(a, top, 10);
    for (int k = 0; k < nt; k++) {
        fputs(k ? ", " : "", f);
        fputs("{\"endpoint\": ", f);
        an_json_str(f, top[k]->key);
        fputs(", \"contribution_us\": ", f);
        an_json_num(f, round(top[k]->contribution_us));
        fputs(", \"delta_mean_us\": ", f);
        an_json_num(f, round(top[k]->sum[AN_CAND].mean_us -
                     top[k]->sum[AN_BASE].mean_us));
        fputc('}', f);
    }
    fputs("],\n\"slowest\": [", f);
    for (int i = 0; i < a->nslow; i++) {
        const struct an_slow *s = &a->slow[i];
        fprintf(f, "%s{\"exchange_id\": %lld, \"copy\": %d, \"loop\": %d, "
                "\"latency_us\": %lld, \"status\": %d, \"endpoint\": ",
                i ? ", " : "", (long long)s->exchange_id, s->copy, s->loop,
                (long long)s->latency_us, s->status);
        an_json_str(f, s->endpoint);
        fputc('}', f);
    }
    const struct an_timeline *tl = &a->tl[AN_CAND];
    fprintf(f, "],\n\"timeline\": {\"bucket_us\": %lld, \"buckets\": [",
            (long long)tl->tick_us);
    for (size_t i = 0; i < tl->nticks; i++) {
        const struct an_tick *t = &tl->tick[i];
        double secs = (double)tl->tick_us / 1e6;
        int timed = t->lat && rp_hist_count(t->lat);
        fprintf(f, "%s{\"t_us\": %lld, \"rps\": ", i ? ",\n  " : "\n  ",
                (long long)i * tl->tick_us);
        an_json_num(f, (double)t->due / secs);
        fputs(", \"sent_per_s\": ", f);
        an_json_num(f, (double)t->sent / secs);
        fputs(", \"completed_per_s\": ", f);
        an_json_num(f, (double)t->done / secs);
        fprintf(f, ", \"errors\": %llu", (unsigned long long)t->errors);
        opt_num(f, "p50_us", timed,
                timed ? (double)rp_hist_value_at_percentile(t->lat, 50) : 0);
        opt_num(f, "p99_us", timed,
                timed ? (double)rp_hist_value_at_percentile(t->lat, 99) : 0);
        fputc('}', f);
    }
    fputs("]},\n\"saturation\": ", f);
    if (a->sat.found) {
        fprintf(f, "{\"t_us\": %lld, \"rps\": ", (long long)a->sat.t_us);
        an_json_num(f, a->sat.achieved_rps);
        fputs(", \"offered_rps\": ", f);
        an_json_num(f, a->sat.offered_rps);
        fputs(", \"inflight_start\": ", f);
        an_json_num(f, a->sat.inflight_start);
        fputs(", \"inflight_end\": ", f);
        an_json_num(f, a->sat.inflight_end);
        fputs(", \"little_inflight\": ", f);
        an_json_num(f, a->sat.little);
        fprintf(f, ", \"p50_us\": %lld}", (long long)a->sat.p50_us);
    } else {
        fputs("null", f);
    }
    fputs(",\n\"capacity\": ", f);
    an_capacity_report_json(a->set[AN_CAND].cap, f);
    if (a->set[AN_BASE].cap) {
        fputs(",\n\"capacity_baseline\": ", f);
        an_capacity_report_json(a->set[AN_BASE].cap, f);
    }
    fputs(",\n\"capacity_change_pct\": ", f);
    an_json_num(f, an_capacity_change(a));
    fields_json(a, f);
    fputs("\n}\n", f);
    return ferror(f) ? RP_EIO : 0;
}
