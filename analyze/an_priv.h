/*
 * an_priv.h: what the analyze/ sources files share: options, the per-endpoint
 * accumulators filled while streaming samples from the corpus, the
 * computed comparison, and the report writers. Nothing outside analyze/
 * includes it.
 */
#ifndef RP_AN_PRIV_H
#define RP_AN_PRIV_H

#include <stdint.h>
#include <stdio.h>

#include "analyze/endpoint.h"
#include "common/hist.h"
#include "analyze/stats.h"
#include "corpus/corpus.h"

#define AN_KEYLEN 256       /* longest group key kept */
#define AN_MW_MAX 20000     /* samples per side fed to Mann-Whitney */
#define AN_MAX_SLOW 10      /* slowest exchanges listed */
#define AN_MAX_EXAMPLES 3   /* example ids per correctness diff */
#define AN_MAX_TICKS 4096   /* timeline buckets before they widen */
#define AN_MAX_CONDS 64     /* --fail-if expressions */
#define AN_MAX_GROUPS 10000 /* distinct groups, "(other)" included */

enum { AN_BASE = 0, AN_CAND = 1, AN_NOISE = 2, AN_NSIDES = 3 };
enum an_group_by { AN_BY_ENDPOINT, AN_BY_HOST, AN_BY_STATUS, AN_BY_NONE };
enum an_metric { AN_METRIC_LATENCY, AN_METRIC_SERVICE };
enum an_format { AN_FMT_TEXT, AN_FMT_JSON, AN_FMT_CSV, AN_FMT_MD,
                 AN_FMT_HTML };

/* Percentiles reported everywhere, in this order. */
#define AN_NPCT 5
extern const double an_pct[AN_NPCT];      /* 50, 90, 95, 99, 99.9 */
extern const char *const an_pct_name[AN_NPCT]; /* "p50", ... "p99.9" */
extern const char *const an_pct_key[AN_NPCT];  /* "p50", ... "p999" */

/* A --fail-if condition: METRIC OP [+]VALUE[%|ms|s|us]. */
enum an_cond_metric {
    AN_CM_P50, AN_CM_P90, AN_CM_P95, AN_CM_P99, AN_CM_P999, /* = pct idx */
    AN_CM_MAX, AN_CM_MEAN, AN_CM_ERRORS, AN_CM_STATUS_CHANGED,
    AN_CM_BODY_CHANGED
};
enum an_cond_op { AN_OP_GT, AN_OP_GE, AN_OP_LT, AN_OP_LE };
struct an_cond {
    char text[64];
    enum an_cond_metric metric;
    enum an_cond_op op;
    int relative;       /* "+X": change from the baseline */
    int percent;        /* value is a percentage (else µs) */
    double value;       /* percent, or µs */
};

struct an_opts {
    const char *db;
    const char *baseline;   /* NULL or "capture": the capture;
                               "previous"; "capture:ID"; RUN */
    const char *candidate;  /* NULL: latest run */
    const char *noise;      /* A/A partner run of the baseline, or NULL */
    struct an_templater *tmpl;
    enum an_group_by group_by;
    enum an_metric metric;
    double alpha;           /* significance level */
    double threshold_pct;   /* minimum relative shift of p50 or p99 */
    int64_t min_effect_us;  /* minimum absolute shift */
    int64_t min_count;      /* endpoints with fewer candidate samples are
                               not gated */
    int64_t warmup_us;      /* requests due earlier are not measured */
    struct an_cond cond[AN_MAX_CONDS];
    int ncond;
    enum an_format format;
    const char *out_path;   /* NULL: stdout */
    int color;              /* -1 auto, 0 never, 1 always */
    int top;                /* rows in the text table (0: all) */
};

struct an_set {
    int present;
    enum corpus_set_kind kind;
    int64_t id;
    int64_t capture_id;
    char label[128];
    char target[512];
    char mode[32];
    char status[32];
    int64_t started_us;
    int64_t wall_us;        /* runs: ended - started (wall), 0 unknown */
    uint64_t samples;       /* samples read */
    uint64_t not_sent;      /* results never sent (interrupted run) */
    uint64_t warmup;        /* due within --warmup: not measured */
    int64_t t_first_us, t_last_us; /* first due, last completion */
    struct rp_hist *lateness;  /* runs: sent - scheduled (generator's delay) */
};

/* Histograms are NULL for the noise side when there is no noise run. */
struct an_side {
    struct rp_hist *lat;       /* compared metric (latency or service time) */
    struct rp_hist *svc;       /* service time (runs) */
    struct rp_hist *ttfb;
    uint64_t count;         /* samples, not_sent excluded */
    uint64_t errors;        /* transport error, no response or 5xx */
    uint64_t status_class[6]; /* [0] none, [1..5] 1xx..5xx */
    uint64_t errclass[CORPUS_ERR__COUNT];
    struct an_reservoir res;
};

/* Computed summary of one side of a group. */
struct an_summary {
    uint64_t count, errors;
    double error_rate;      /* 0..1 */
    double mean_us;
    int64_t pct_us[AN_NPCT];
    int64_t min_us, max_us;
    int64_t svc_p50_us, svc_p99_us;
    int64_t ttfb_p50_us;
    double rps;             /* count / set duration */
};

struct an_group {
    char *key;
    struct an_side side[AN_NSIDES];
    uint64_t compared;      /* candidate samples matched with the baseline */
    uint64_t status_changed, body_compared, body_changed;
    int64_t status_ex[AN_MAX_EXAMPLES], body_ex[AN_MAX_EXAMPLES];
    int n_status_ex, n_body_ex;
    /* filled by an_compute */
    struct an_summary sum[AN_NSIDES];
    struct an_mw mw;        /* Mann-Whitney, candidate vs baseline */
    struct an_qtest q50, q99; /* quantile tests at p50 and p99 */
    int significant;        /* Mann-Whitney p < alpha */
    int beyond_noise;       /* p50 or p99 shift exceeds the A/A shift (1
                               without a noise run) */
    int effect;             /* p50 or p99 shift reaches the threshold */
    int regressed, improved; /* p50 or p99 moved by threshold + noise
                               floor, significantly (an_sig_dir) in that
                               direction */
    int64_t noise_us[2];    /* A/A |shift| of p50, p99; -1 unknown */
    int tail;               /* percentile index of the judged tail: p99,
                               or p90 with too few samples for p99; -1
                               with too few for either */
    double contribution_us; /* count x delta mean */
    int failed;             /* a --fail-if held here */
};

struct an_tick {
    uint64_t due, done, errors;
    struct rp_hist *lat;
};

struct an_slow {
    int64_t exchange_id;
    int copy;
    int64_t latency_us;
    int status;
    char endpoint[AN_KEYLEN];
};

struct an_failure {
    int cond;               /* index in opts.cond */
    const struct an_group *group;
    double value;           /* observed value, in the condition's unit */
};

struct an_analysis {
    struct an_opts *o;
    struct an_set set[AN_NSIDES];
    struct an_group **groups;
    size_t ngroups, cap;
    uint32_t *slot;          /* open addressing: group index + 1 */
    size_t nslots;
    struct an_group all;     /* every sample, for totals and the CDF */
    struct an_group *last_group; /* group of exchange last_ex_id */
    int64_t last_ex_id;
    int groups_capped;       /* AN_MAX_GROUPS was reached */
    int64_t tick_us;         /* timeline bucket width */
    struct an_tick *tick;
    size_t nticks, tick_cap;
    struct an_slow slow[AN_MAX_SLOW]; /* slowest first after an_compute */
    int nslow;
    /* filled by an_compute */
    size_t *order;           /* groups in report order */
    int saturated;
    int64_t sat_t_us;
    double sat_rps;
    int64_t sat_p50_us;
    struct an_failure *fail;
    size_t nfail, fail_cap;
    /* per --fail-if: endpoints where its percentile was not judged (fewer
     * than AN_TAIL_MIN samples of a side beyond it) */
    int unjudged[AN_MAX_CONDS];
    int verdict_fail;
};

/* an_load.c */
void an_analysis_init(struct an_analysis *a, struct an_opts *o);
void an_analysis_cleanup(struct an_analysis *a);
/* Streams the sets in a->set (baseline joined with the candidate by
 * exchange id and copy, then the noise run) into the accumulators.
 * Returns 0 or a negative RP_E* with err filled. */
int an_load(struct an_analysis *a, struct corpus *c, char *err);

/* compare.c */
int an_compute(struct an_analysis *a, char *err);
/* 1 when g's candidate differs from its baseline in direction dir (+1
 * slower, -1 faster) at level alpha: by Mann-Whitney, or, when
 * Mann-Whitney finds no shift, by the quantile test q. */
int an_sig_dir(const struct an_group *g, const struct an_qtest *q, int dir,
               double alpha);
/* A percentile is judged (verdict, relative --fail-if) only when both sides
 * have at least AN_TAIL_MIN samples beyond it: p99 of 300 samples rests on
 * three of them, and one machine stall moved it by milliseconds. */
#define AN_TAIL_MIN 10
int an_pct_judged(uint64_t n_base, uint64_t n_cand, double pct);
/* Parses one --fail-if expression into *out; RP_EUSAGE when malformed. */
int an_cond_parse(const char *s, struct an_cond *out, char *err);
int64_t an_set_duration_us(const struct an_set *s);
/* Up to max groups with the largest positive count x delta-mean, largest
 * first, into top; returns how many. */
int an_top_contributors(const struct an_analysis *a,
                        const struct an_group **top, int max);

/* reports */
int an_report_text(const struct an_analysis *a, FILE *f, int color);
int an_report_json(const struct an_analysis *a, FILE *f);
int an_report_csv(const struct an_analysis *a, FILE *f);
int an_report_md(const struct an_analysis *a, FILE *f);
int an_report_html(const struct an_analysis *a, FILE *f);

/* "FAIL", "regressed", "improved", "new", "gone", "~"... */
const char *an_verdict_word(const struct an_analysis *a,
                            const struct an_group *g);
/* One line per --fail-if that was not judged somewhere: "not judged: COND
 * on N endpoints ...", the condition between quote and quote (markdown
 * passes backticks), ending with end. */
void an_print_unjudged(FILE *f, const struct an_analysis *a,
                       const char *quote, const char *end);

/* report_util.c */
/* Formats µs as "850us", "12.3ms", "1.25s", "3m05s" into out. */
void an_fmt_us(double us, char *out, size_t n);
/* Set name for humans: "run 3 'v2'" or "capture 1". */
void an_set_name(const struct an_set *s, char *out, size_t n);
void an_json_str(FILE *f, const char *s);
const char *an_group_by_name(enum an_group_by g);
/* Percent change (b -> c), NAN when b is 0. */
double an_pct_change(double b, double c);

#endif
