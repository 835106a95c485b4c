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

#include "proto/endpoint.h"
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
#define AN_MAX_CODES 12     /* status keys counted per side of a group */
#define AN_MAX_TRANS 8      /* status transitions kept per group */
#define AN_MAX_MSGS 16      /* distinct error messages kept per set */
#define AN_MSGLEN 160       /* longest error message kept */
#define AN_MAX_NOTES 48     /* reasons and notices of the verdict */
#define AN_NOTELEN 480
#define AN_MAX_OUT 8        /* -o FILE outputs */
#define AN_MAX_FIELDS 256   /* response fields followed per endpoint */
#define AN_MAX_IGNORE 64    /* --ignore-field */
#define AN_FVAL 96          /* example values kept (= AN_FD_VALLEN) */

enum { AN_BASE = 0, AN_CAND = 1, AN_NOISE = 2, AN_NSIDES = 3 };
enum an_group_by { AN_BY_ENDPOINT, AN_BY_HOST, AN_BY_STATUS, AN_BY_NONE };
enum an_metric { AN_METRIC_LATENCY, AN_METRIC_SERVICE };
enum an_format { AN_FMT_TEXT, AN_FMT_JSON, AN_FMT_CSV, AN_FMT_MD,
                 AN_FMT_HTML };
enum an_verdict { AN_PASS, AN_FAIL, AN_INCONCLUSIVE };
/* Exit codes of `reprise analyze` (2 is bad usage or input, as always). */
#define AN_EXIT_PASS 0
#define AN_EXIT_FAIL 1
#define AN_EXIT_INCONCLUSIVE 3

/* Percentiles reported everywhere, in this order. */
#define AN_NPCT 5
extern const double an_pct[AN_NPCT];      /* 50, 90, 95, 99, 99.9 */
extern const char *const an_pct_name[AN_NPCT]; /* "p50", ... "p99.9" */
extern const char *const an_pct_key[AN_NPCT];  /* "p50", ... "p999" */

/* A --fail-if condition: METRIC OP [+]VALUE[%|ms|s|us]. */
enum an_cond_metric {
    AN_CM_P50, AN_CM_P90, AN_CM_P95, AN_CM_P99, AN_CM_P999, /* = pct idx */
    AN_CM_MAX, AN_CM_MEAN, AN_CM_ERRORS, AN_CM_STATUS_CHANGED,
    AN_CM_BODY_CHANGED, AN_CM_STATUS_MIX, AN_CM_CAPACITY,
    AN_CM_FIELD_CHANGED
};
enum an_cond_op { AN_OP_GT, AN_OP_GE, AN_OP_LT, AN_OP_LE };
struct an_cond {
    char text[64];
    enum an_cond_metric metric;
    enum an_cond_op op;
    int relative;       /* "+X": change from the baseline */
    int percent;        /* value is a percentage (else µs) */
    double value;       /* percent, or µs */
    int dflt;           /* a default gate, not given by the user */
};
/* 1 for the metrics a starved generator can distort (latencies). */
int an_cond_is_latency(enum an_cond_metric m);

struct an_output {
    const char *path;   /* NULL: standard output */
    enum an_format format;
};

struct an_opts {
    const char *db;
    const char *baseline;   /* NULL or "capture": the capture;
                               "previous"; "capture:ID"; RUN */
    const char *candidate;  /* NULL: latest run */
    const char *noise;      /* A/A partner run of the baseline, or NULL */
    struct http_templater *tmpl;
    enum an_group_by group_by;
    enum an_metric metric;
    double alpha;           /* significance level */
    double threshold_pct;   /* minimum relative shift of p50 or p99 */
    int64_t min_effect_us;  /* minimum absolute shift */
    int64_t min_count;      /* endpoints with fewer candidate samples are
                               not gated */
    int64_t warmup_us;      /* requests due earlier are not measured */
    struct an_cond cond[AN_MAX_CONDS]; /* given, then the default gates */
    int ncond;
    int nuser;              /* of which given with --fail-if */
    int no_default_gates;   /* --no-default-gates */
    int allow_all_errors;   /* --allow-all-errors */
    int64_t max_lateness_us; /* a run later than this at p99 is starved */
    enum an_format format;  /* --format: stdout, and -o without a known
                               extension */
    int format_given;
    struct an_output out[AN_MAX_OUT];
    int nout;               /* 0: the report goes to stdout */
    int color;              /* -1 auto, 0 never, 1 always */
    int top;                /* rows in the text table (0: all) */
    struct an_ignore {
        char endpoint[AN_KEYLEN];  /* an endpoint, or "*" for all */
        char path[192];
    } ignore[AN_MAX_IGNORE];       /* --ignore-field 'ENDPOINT PATH' */
    int nignore;
};

/* ---- capacity (a run replayed with --steps) ---------------------------- */

#define AN_CAP_SERIES 512   /* monitored series followed per run */
#define AN_CAP_POINTS 3600  /* points kept per charted series */
#define AN_CAP_CHARTED 8    /* series drawn in the HTML report */
#define AN_KEEP_UP 0.95     /* a step keeps up: achieved >= 95% of offered */

/* One load step of a stepped run, accumulated from its samples. */
struct an_cap_step {
    double multiple;
    int64_t start_us, end_us;  /* its window, µs since the run's start */
    uint64_t due;              /* requests due in the window */
    uint64_t done;             /* answered without error (status < 500) in
                                  the window: achieved throughput */
    uint64_t errors;           /* of the requests due in it */
    double busy_us;            /* integral of requests in flight (sent to
                                  done) over the window */
    double done_lat_us;        /* latencies of the requests done in it */
    uint64_t done_n;
    struct rp_hist *lat;       /* latency of the requests due in it */
    struct rp_hist *late;      /* their lateness (sent - scheduled) */
    struct rp_hist *svc;       /* their service time (done - sent) */
    /* computed by an_capacity_compute */
    double offered_rps, achieved_rps, error_pct;
    double inflight;           /* measured mean in flight */
    double little;             /* achieved x mean latency (Little's law) */
    int64_t p50_us, p90_us, p99_us, late_p99_us; /* -1 none */
    int64_t svc_p90_us;
    int kept_up, slo_ok;
    int gen_limited;           /* late while the target's service time held */
};

/* A monitored series of the run (--monitor, --monitor-pid). */
struct an_cap_series {
    char *source, *name;       /* name with its labels */
    int gauge;                 /* a gauge (TYPE gauge, or from /proc) */
    double max, min;
    double step_sum[CORPUS_MAX_STEPS];
    uint64_t step_n[CORPUS_MAX_STEPS];
    double step_mean[CORPUS_MAX_STEPS]; /* NAN when no point */
    int64_t *t_us;             /* points, for the chart (up to
                                  AN_CAP_POINTS) */
    double *v;
    size_t npoints;
    /* computed */
    int saturated;
    char why[160];
};

struct an_capacity {
    int nsteps;
    struct an_cap_step step[CORPUS_MAX_STEPS];
    char step_by[16];
    int stopped_step;          /* 1-based, 0 none */
    char stopped_by[64];
    struct an_cap_series *series;
    size_t nseries;
    uint64_t series_dropped;   /* over AN_CAP_SERIES */
    uint64_t scrapes, scrapes_failed;
    char scrape_error[160];    /* the first failure's message */
    /* computed */
    int knee;                  /* 0-based step, -1 none */
    char knee_why[200];
    int sustained;             /* step of max_sustained_rps, -1 none */
    double max_sustained_rps;
    int gen_limited;           /* the generator, not the target, fell behind
                                  at the knee */
    struct an_usl {
        int ok;
        double lambda, sigma, kappa; /* X(N) = lambda N / (1 + sigma (N-1)
                                        + kappa N (N-1)) */
        double peak_n, peak_rps;     /* peak_n INFINITY: an asymptote */
        double r2;
    } usl;
    char limiting[AN_KEYLEN];  /* "" none */
    double limiting_ratio;     /* its p90 at the knee / at the first step */
    double limiting_share;     /* its share of the service demand */
};

/* Per step of a stepped set: one endpoint's latencies, for the limiting
 * endpoint. */
struct an_gstep {
    uint64_t n;
    double svc_sum_us;
    struct rp_hist *lat;
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
    double speed, rate;     /* runs: the mode's multiple or rate */
    int concurrency, scale;
    char engine[16];
    char correlated[256];   /* runs: values correlated by kind, or "" */
    int64_t uncorrelated;   /* runs: requests with a value not correlated,
                               -1 when the run did not correlate */
    int64_t started_us;
    int64_t wall_us;        /* runs: ended - started (wall), 0 unknown */
    uint64_t samples;       /* samples read */
    uint64_t not_sent;      /* results never sent (interrupted run) */
    uint64_t warmup;        /* due within --warmup: not measured */
    int64_t t_first_us, t_last_us; /* first due, last completion */
    struct rp_hist *lateness;  /* runs: sent - scheduled (generator's delay) */
    /* filled by an_compute */
    int open_model;         /* speed or rate mode: requests sent when due */
    int starved;            /* its generator fell behind (an_starved) */
    int64_t late_p99_us;    /* p99 lateness, -1 unknown */
    /* the most common error messages of its failed requests */
    struct an_msg {
        enum corpus_errclass cls;
        char text[AN_MSGLEN]; /* normalized: no "after N ms" */
        uint64_t count;
    } msg[AN_MAX_MSGS];
    int nmsg;
    uint64_t msg_other;     /* failed requests whose message did not fit */
    struct an_capacity *cap; /* runs replayed with --steps, else NULL */
};

/* A status key: an HTTP status (100..599), 0 for no response, or -(error
 * class) for a transport error. */
int an_status_key(const struct corpus_sample *s);
/* "200", "none", "refused"... into out. */
void an_status_key_name(int key, char *out, size_t n);

struct an_codes {
    int key[AN_MAX_CODES];
    uint64_t n[AN_MAX_CODES];
    int len;
    uint64_t other;         /* samples whose key did not fit */
};

/* Exchanges whose status key changed from `from` (baseline) to `to`. */
struct an_trans {
    int from, to;
    uint64_t count;
    int64_t ex[AN_MAX_EXAMPLES];
    int nex;
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
    struct an_codes codes;  /* status mix */
    struct an_reservoir res;
};

/* One response field of a group (fields.c): how often it changed between
 * the baseline and the candidate, or that it is noise. */
struct an_field {
    char *path;             /* "$.items[*].price", "header:x-request-id" */
    int kind;               /* enum an_fd_kind: changed, added, removed */
    uint64_t changed;       /* compared exchanges where it differed */
    int noise;              /* learned (or given) noise: not a change */
    char noise_src[32];     /* "noise run", "baseline copies and loops",
                               "time (capture vs baseline)",
                               "--ignore-field" */
    uint64_t noise_hits;    /* how often it differed, as noise */
    char ex_b[AN_MAX_EXAMPLES][AN_FVAL], ex_c[AN_MAX_EXAMPLES][AN_FVAL];
    int nex;
};
struct an_fields {
    struct an_field *f;
    size_t n, cap;
    uint64_t total;         /* exchanges whose two responses were compared */
};

/* Computed summary of one side of a group. */
struct an_summary {
    uint64_t count, errors;
    uint64_t timed;         /* samples with a latency (responses); the
                               percentiles below mean nothing when 0 */
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
    struct an_trans trans[AN_MAX_TRANS]; /* most frequent first after
                                            an_compute */
    int ntrans;
    uint64_t trans_other;   /* changes of a transition that did not fit */
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
    double mix_pts;         /* status mix: total variation distance between
                               baseline and candidate, in points */
    double mix_p;           /* its significance (smallest per-key p-value,
                               Bonferroni-corrected); 1 when undecidable */
    int failed;             /* a --fail-if held here */
    struct an_gstep *gstep[2]; /* baseline and candidate, stepped sets */
    struct an_fields fields;   /* field-level changes and noise */
};

/* One bucket of the candidate's timeline: requests that became due in it,
 * were sent in it (reached the target), and were done in it (answered or
 * failed), and the latencies of those due in it. */
struct an_tick {
    uint64_t due, sent, done, errors;
    double lat_sum_us;      /* latencies of the requests done in it */
    struct rp_hist *lat;
};

struct an_slow {
    int64_t exchange_id;
    int copy, loop;
    int64_t latency_us;
    int status;
    char endpoint[AN_KEYLEN];
};

struct an_failure {
    int cond;               /* index in opts.cond */
    const struct an_group *group;
    double value;           /* observed value, in the condition's unit */
    int pi;                 /* percentile index it was judged at (it may be
                               lower than the condition's), or -1 */
};

/* A sentence of the verdict: why it is what it is, or what to know. */
enum an_note_kind { AN_NOTE_FAIL, AN_NOTE_INCONCLUSIVE, AN_NOTE_INFO };
struct an_note {
    enum an_note_kind kind;
    char text[AN_NOTELEN];
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
    /* the timelines of the baseline and the candidate (AN_BASE, AN_CAND;
     * a capture baseline's is in its wire time) */
    struct an_timeline {
        int64_t tick_us;     /* bucket width */
        struct an_tick *tick;
        size_t nticks, tick_cap;
    } tl[2];
    struct an_slow slow[AN_MAX_SLOW]; /* slowest first after an_compute */
    int nslow;
    /* filled by an_compute */
    size_t *order;           /* groups in report order */
    struct an_saturation {
        int found;
        int64_t t_us;        /* from when, into the candidate run */
        double achieved_rps; /* completions per second from t_us on */
        double offered_rps;  /* requests due per second from t_us on */
        double inflight_start, inflight_end; /* due but not done */
        double little;       /* in flight a target keeping pace would hold:
                                achieved rate x its early mean latency */
        int64_t p50_us;      /* median latency from t_us on */
    } sat;
    struct an_failure *fail;
    size_t nfail, fail_cap;
    /* per condition: endpoints where its percentile was not judged (fewer
     * than AN_TAIL_MIN samples of a side beyond it, and beyond every lower
     * percentile), of which moved significantly the way it guards, with
     * the first such; and endpoints judged at a lower percentile, by it */
    int unjudged[AN_MAX_CONDS];
    int unjudged_moved[AN_MAX_CONDS];
    const struct an_group *unjudged_ex[AN_MAX_CONDS];
    int fallback[AN_MAX_CONDS][AN_NPCT];
    int noise_suspect;       /* the A/A partner is not one (an_noise_check) */
    char noise_why[256];
    enum an_verdict verdict;
    struct an_note note[AN_MAX_NOTES];
    int nnotes;
    struct an_fwork *fw;     /* fields.c: pairs noted while loading */
    uint64_t fields_dropped; /* pairs over its bound, not diffed */
    int field_rc;            /* an_fields_note failed while loading */
};

/* an_load.c */
void an_analysis_init(struct an_analysis *a, struct an_opts *o);
void an_analysis_cleanup(struct an_analysis *a);
/* Streams the sets in a->set (baseline joined with the candidate by
 * exchange id and copy, then the noise run) into the accumulators.
 * Returns 0 or a negative RP_E* with err filled. */
int an_load(struct an_analysis *a, struct corpus *c, char *err);

/* compare.c */
/* Summaries, tests, the verdict, report order and saturation. */
int an_compute(struct an_analysis *a, char *err);
/* Per-group statistics of every side (summaries, Mann-Whitney, quantile
 * tests, regressed/improved, status mix). */
void an_judge(struct an_group *g, const struct an_analysis *a);
/* The status mix of y against x: total variation distance of their status
 * keys in points into *pts, its Bonferroni-corrected p-value into *p. */
void an_status_mix(const struct an_side *x, const struct an_side *y,
                   double *pts, double *p);
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
/* verdict.c */
/* Parses one --fail-if expression into *out; RP_EUSAGE when malformed. */
int an_cond_parse(const char *s, struct an_cond *out, char *err);
/* Appends the default gates the user's conditions leave open (errors>+1%
 * and status-mix>1%, unless --no-default-gates). */
void an_add_default_gates(struct an_opts *o);
/* Evaluates every condition on every group, decides which runs were
 * starved and whether the noise run is suspect, and sets a->verdict and
 * its notes. RP_ENOMEM or 0. */
int an_decide(struct an_analysis *a, char *err);
/* 1 when note n is a reason for the verdict a came to (a FAIL note of a
 * FAIL, an INCONCLUSIVE note of an INCONCLUSIVE); the rest are notices. */
int an_note_decides(const struct an_analysis *a, const struct an_note *n);
/* "PASS", "FAIL", "INCONCLUSIVE" */
const char *an_verdict_name(enum an_verdict v);
int an_verdict_exit(enum an_verdict v);
/* "errors>+1% (default)" into out. */
void an_cond_label(const struct an_cond *k, char *out, size_t n);
/* The value of failure x as text ("change +12.30%", "+3.20 points"). */
void an_failure_value(const struct an_analysis *a,
                      const struct an_failure *x, char *out, size_t n);

/* capacity.c */
/* Reads run set `which`'s steps and monitored series (a->set[which].cap
 * stays NULL for a run without steps). 0 or a negative RP_E*. */
int an_capacity_open(struct an_analysis *a, struct corpus *c, int which,
                     char *err);
/* Adds sample s of group g (side AN_BASE or AN_CAND) to the steps. */
int an_capacity_add(struct an_analysis *a, int which, struct an_group *g,
                    const struct corpus_sample *s);
/* Per-step table, knee, maximum sustained throughput, USL, limiting
 * endpoint and saturated series of every stepped side. */
void an_capacity_compute(struct an_analysis *a);
void an_capacity_free(struct an_capacity *k);
void an_gstep_free(struct an_group *g);
/* Change of the candidate's maximum sustained throughput from the
 * baseline's, in percent; NAN unless both are stepped and measured. */
double an_capacity_change(const struct an_analysis *a);
/* "run 4 'v2' sustains 160 req/s (knee at step 5, x4)" into out. */
void an_capacity_sentence(const struct an_analysis *a, int which, char *out,
                          size_t n);

/* report_capacity.c: the capacity section of each format */
void an_capacity_report_text(const struct an_analysis *a, FILE *f);
void an_capacity_report_md(const struct an_analysis *a, FILE *f);
void an_capacity_report_json(const struct an_capacity *k, FILE *f);
/* The per-step table and the sentences of side `which` (stepped). */
void an_capacity_report_html_table(const struct an_analysis *a, int which,
                                   FILE *f);

/* fields.c */
/* Notes sample s of side `which` (AN_CAND: paired with the baseline's;
 * AN_CAND + 10: any candidate sample, for its own noise; AN_NOISE;
 * AN_BASE) when its response is stored, for an_fields_compute. */
int an_fields_note(struct an_analysis *a, int which, struct an_group *g,
                   const struct corpus_sample *s);
/* Learns the noise, then diffs every noted pair field by field into the
 * groups' fields. 0 or a negative RP_E*. */
int an_fields_compute(struct an_analysis *a, struct corpus *c, char *err);
void an_fields_free(struct an_group *g);
void an_fwork_free(struct an_analysis *a);
/* Share (percent) of g's compared exchanges where f changed. */
double an_field_share(const struct an_group *g, const struct an_field *f);
/* The largest share of a changed field of g that is not noise (0 none),
 * and that field into *which (may be NULL). */
double an_fields_max_share(const struct an_group *g,
                           const struct an_field **which);

/* an_showdiff.c: `show ID --diff`: ex's two stored responses, baseline
 * ("capture" or a RUN, NULL: the capture) and candidate (a RUN, NULL: the
 * latest run), at loop and copy, field differences then side by side. */
int an_show_diff(FILE *f, struct corpus *c, const struct corpus_exchange *ex,
                 const char *baseline, const char *candidate, int loop,
                 int copy, char *err);

/* saturation.c */
/* Looks for the point where the candidate's target stopped keeping pace
 * with the offered load (open-model runs only); fills a->sat. */
void an_find_saturation(struct an_analysis *a);
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
/* The report's shared sentences, each written as pre + text + post:
 * the sets' metadata lines, the error causes, the status transitions. */
typedef void (*an_line_fn)(void *arg, int side, const char *line);
/* "run 3 'v1' (baseline): target ..., mode speed 10x, scale 1, engine curl,
 * complete; lateness p99 1.2ms" for each set present. */
void an_each_set_line(const struct an_analysis *a, an_line_fn fn, void *arg);
/* "refused 249 (100.0%): Failed to connect to 127.0.0.1 port 1" for each of
 * the set's most common error messages. */
void an_each_error_line(const struct an_analysis *a, int side, an_line_fn fn,
                        void *arg);
/* "200 -> 401: 17 (e.g. 1 9 16)" for each transition of g, most frequent
 * first. */
void an_each_transition(const struct an_group *g, an_line_fn fn, void *arg);
/* The field-level changes (noise 0), a line each: "GET /x  $.price
 * changed in 312/1000 (31.2%): 9.99 -> 10.99"; or the noise fields (noise
 * 1): "GET /x  header:date (noise run; differed 240 times as noise)".
 * Returns how many lines. */
int an_each_field_line(const struct an_analysis *a, int noise, an_line_fn fn,
                       void *arg);
/* Short role name of a side: "baseline", "candidate", "noise run". */
const char *an_side_name(int side);

/* report_util.c */
/* Formats µs as "850us", "12.3ms", "1.25s", "3m05s" into out. */
void an_fmt_us(double us, char *out, size_t n);
/* Set name for humans: "run 3 'v2'" or "capture 1". */
void an_set_name(const struct an_set *s, char *out, size_t n);
void an_json_str(FILE *f, const char *s);
/* A JSON number (%.6g), or null when not finite. */
void an_json_num(FILE *f, double v);
/* s with < > & " ' escaped for HTML text and attributes. */
void an_html_str(FILE *f, const char *s);
const char *an_group_by_name(enum an_group_by g);
/* A percentile of s for a table cell: "12.3ms", "none" when no request
 * got a response, "-" when there are no requests. */
void an_fmt_pct(const struct an_summary *s, int pi, char *out, size_t n);
/* The change of a percentile, "+12.3%", "none" when a side has no
 * responses, "-" when it has no requests or the baseline is 0. */
void an_fmt_change(const struct an_summary *b, const struct an_summary *c,
                   int pi, char *out, size_t n);
/* Percent change (b -> c), NAN when b is 0. */
double an_pct_change(double b, double c);

#endif
