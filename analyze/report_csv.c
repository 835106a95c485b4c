/*
 * report_csv.c: one CSV row per endpoint (RFC 4180 quoting), for
 * spreadsheets and scripts. Times in microseconds.
 */
#include "analyze/an_priv.h"

#include <math.h>
#include <string.h>

static void csv_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.6g", v);
    else
        fputs(",", f);
}

int an_report_csv(const struct an_analysis *a, FILE *f)
{
    fputs("endpoint,verdict,p_value,baseline_count,candidate_count,"
          "baseline_error_rate,candidate_error_rate,baseline_mean_us,"
          "candidate_mean_us", f);
    for (int i = 0; i < AN_NPCT; i++)
        fprintf(f, ",baseline_%s_us,candidate_%s_us,change_%s_pct",
                an_pct_key[i], an_pct_key[i], an_pct_key[i]);
    fputs(",baseline_max_us,candidate_max_us,candidate_rps,"
          "candidate_service_p50_us,candidate_service_p99_us,compared,"
          "status_changed,body_compared,body_changed,contribution_us\n", f);
    for (size_t k = 0; k <= a->ngroups; k++) {
        const struct an_group *g = k < a->ngroups ? a->groups[a->order[k]]
                                                  : &a->all;
        const struct an_summary *b = &g->sum[AN_BASE], *c = &g->sum[AN_CAND];
        csv_str(f, g->key);
        fputc(',', f);
        csv_str(f, an_verdict_word(a, g));
        csv_num(f, g->mw.p);
        fprintf(f, ",%llu,%llu", (unsigned long long)b->count,
                (unsigned long long)c->count);
        csv_num(f, b->error_rate);
        csv_num(f, c->error_rate);
        /* a side without responses has no latency: empty cells */
        double bt = b->timed ? 0 : NAN, ct = c->timed ? 0 : NAN;
        csv_num(f, round(b->mean_us) + bt);
        csv_num(f, round(c->mean_us) + ct);
        for (int i = 0; i < AN_NPCT; i++) {
            csv_num(f, (double)b->pct_us[i] + bt);
            csv_num(f, (double)c->pct_us[i] + ct);
            csv_num(f, an_pct_change((double)b->pct_us[i],
                                     (double)c->pct_us[i]) + bt + ct);
        }
        csv_num(f, (double)b->max_us + bt);
        csv_num(f, (double)c->max_us + ct);
        csv_num(f, c->rps);
        csv_num(f, (double)c->svc_p50_us + ct);
        csv_num(f, (double)c->svc_p99_us + ct);
        fprintf(f, ",%llu,%llu,%llu,%llu", (unsigned long long)g->compared,
                (unsigned long long)g->status_changed,
                (unsigned long long)g->body_compared,
                (unsigned long long)g->body_changed);
        csv_num(f, round(g->contribution_us));
        fputc('\n', f);
    }
    return ferror(f) ? RP_EIO : 0;
}
