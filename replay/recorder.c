/*
 * recorder.c: the replay recorder thread and the run's reports. The recorder
 * is the only thread that writes to the corpus once the run has started: it
 * drains the bounded result queue the engines (and the feeder, for requests
 * never sent) push into, writes each result through the corpus's batched
 * writer, keeps the run's statistics (status and error classes, histograms
 * of latency, service time, time to first byte and lateness) and prints the
 * progress line. The final summary (text or JSON) is built from the same
 * statistics once every thread has ended.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "replay/replay_int.h"

#define DRAIN_MAX 1024
#define TICK_MS 250
#define IDLE_NS 2000000L /* sleep between drains unless backlogged (the
                            queues hold far more than 2 ms of results) */
#define PIPE_PROGRESS_US 5000000

int replay_stats_init(struct rp_stats *st)
{
    memset(st, 0, sizeof *st);
    st->first_sent_us = -1;
    st->latency = rp_hist_new();
    st->service = rp_hist_new();
    st->ttfb = rp_hist_new();
    st->lateness = rp_hist_new();
    if (st->latency && st->service && st->ttfb && st->lateness)
        return 0;
    replay_stats_cleanup(st);
    return RP_ENOMEM;
}

void replay_stats_cleanup(struct rp_stats *st)
{
    rp_hist_free(st->latency);
    rp_hist_free(st->service);
    rp_hist_free(st->ttfb);
    rp_hist_free(st->lateness);
    st->latency = st->service = st->ttfb = st->lateness = NULL;
}

static void errmsg_add(struct rp_stats *st, const struct rp_res *r)
{
    char text[sizeof st->msg[0].text];
    rp_errmsg_normalize(r->error, text, sizeof text);
    for (int i = 0; i < st->nmsg; i++)
        if (st->msg[i].cls == r->error_class && !strcmp(st->msg[i].text, text)) {
            st->msg[i].count++;
            return;
        }
    if (st->nmsg == RP_MAX_ERRMSGS) {
        st->msg_other++;
        return;
    }
    struct rp_errmsg *m = &st->msg[st->nmsg++];
    m->cls = r->error_class;
    memcpy(m->text, text, sizeof text);
    m->count = 1;
}

/* A value that cannot be recorded (out of memory for a bucket row) only
 * leaves the statistics short; the result itself is in the corpus. */
static void stats_add(struct rp_stats *st, const struct rp_res *r)
{
    st->results++;
    st->by_class[r->error_class]++;
    if (r->error_class == CORPUS_ERR_NONE)
        st->ok++;
    else if (r->error_class != CORPUS_ERR_NOT_SENT) {
        st->errors++;
        errmsg_add(st, r);
    }
    if (r->status > 0)
        st->by_status[r->status / 100 < 6 ? r->status / 100 : 0]++;
    if (r->cap_status > 0 && r->error_class != CORPUS_ERR_NOT_SENT) {
        st->status_compared++;
        st->status_matched += r->status == r->cap_status;
    }
    if (r->sent_us >= 0) {
        (void)rp_hist_record(st->lateness, r->sent_us - r->scheduled_us);
        if (st->first_sent_us < 0 || r->sent_us < st->first_sent_us)
            st->first_sent_us = r->sent_us;
    }
    if (r->done_us > st->last_done_us)
        st->last_done_us = r->done_us;
    if (r->error_class == CORPUS_ERR_NONE && r->done_us >= 0) {
        (void)rp_hist_record(st->latency, r->done_us - r->scheduled_us);
        (void)rp_hist_record(st->service, r->done_us - r->sent_us);
        if (r->first_byte_us >= 0)
            (void)rp_hist_record(st->ttfb, r->first_byte_us - r->sent_us);
        st->resp_bytes += (uint64_t)(r->resp_bytes > 0 ? r->resp_bytes : 0);
    }
}

static int64_t hist_pct(const struct rp_hist *h, double p)
{
    return rp_hist_value_at_percentile(h, p);
}

/* ---- steps (--steps, --stop-if) ----------------------------------------- */

/* Counts r in the step it was scheduled in. */
static void step_add(struct rp_ctx *c, const struct rp_res *r)
{
    const struct rp_opts *o = c->o;
    if (!o->nsteps || r->scheduled_us < 0)
        return;
    int64_t k = r->scheduled_us / o->step_us;
    if (k >= o->nsteps)
        return;
    struct rp_step_stats *s = &c->step[k];
    s->results++;
    if (r->error_class == CORPUS_ERR_NOT_SENT) {
        s->not_sent++;
        return;
    }
    if (r->error_class != CORPUS_ERR_NONE || r->status >= 500)
        s->errors++;
    if (r->error_class == CORPUS_ERR_NONE && r->done_us >= 0) {
        s->ok++;
        if (!s->latency)
            s->latency = rp_hist_new();
        if (s->latency)
            (void)rp_hist_record(s->latency, r->done_us - r->scheduled_us);
    }
}

/* The value of condition k on step stats s with h its latencies. */
static double stop_value(const struct rp_stopif *k,
                         const struct rp_step_stats *s, uint64_t pending,
                         const struct rp_hist *h)
{
    static const double pct[] = {50, 90, 95, 99, 99.9};
    uint64_t sent = s->results - s->not_sent + pending;
    switch (k->metric) {
    case RS_ERRORS:
        return sent ? 100.0 * (double)s->errors / (double)sent : 0;
    case RS_MAX:
        return h ? (double)rp_hist_max(h) : 0;
    case RS_MEAN:
        return h ? rp_hist_mean(h) : 0;
    default:
        return h && rp_hist_count(h)
                   ? (double)hist_pct(h, pct[k->metric]) : 0;
    }
}

static int stop_holds(const struct rp_stopif *k, double v)
{
    switch (k->op) {
    case '>': return v > k->value;
    case '<': return v < k->value;
    case 'g': return v >= k->value;
    default: return v <= k->value;
    }
}

/* Judges every step that has ended and whose results are in (or whose
 * grace has passed: requests still in flight then count with the latency
 * they have so far, a lower bound). The first step that breaks a --stop-if
 * ends the run: the later steps are not part of it (time_up). final: the
 * run is over, judge what is left. */
static void steps_judge(struct rp_ctx *c, int final)
{
    const struct rp_opts *o = c->o;
    int64_t now = replay_now(c);
    int64_t grace = o->timeout_us < 1000000 ? o->timeout_us : 1000000;
    if (!o->nsteps || c->stopped_step >= 0)
        return;
    while (c->nsteps_run < o->nsteps) {
        int k = c->nsteps_run;
        struct rp_step_stats *s = &c->step[k];
        int64_t end = (int64_t)(k + 1) * o->step_us;
        uint64_t sched = atomic_load(&c->step_sched[k]);
        uint64_t pending = sched > s->results ? sched - s->results : 0;
        if (!final && (now < end || (pending && now < end + grace)))
            return;
        if (final && !sched && !s->results)
            return; /* never reached (interrupted) */
        struct rp_hist *h = s->latency;
        struct rp_hist *tmp = NULL;
        if (pending && o->nstopif && (tmp = rp_hist_new())) {
            if (h)
                (void)rp_hist_merge(tmp, h);
            (void)rp_hist_record_n(tmp, now - end > 0 ? now - end : 0,
                                   pending);
            h = tmp;
        }
        s->evaluated = 1;
        c->nsteps_run = k + 1;
        for (int i = 0; i < o->nstopif; i++) {
            double v = stop_value(&o->stopif[i], s, pending, h);
            if (stop_holds(&o->stopif[i], v)) {
                c->stopped_step = k;
                c->stopped_cond = i;
                c->stopped_value = v;
                break;
            }
        }
        rp_hist_free(tmp);
        if (c->stopped_step >= 0) {
            atomic_store(&c->time_up, 1);
            for (int i = 0; i < c->nengines; i++)
                if (c->engines[i])
                    replay_engine_wake(c->engines[i]);
            return;
        }
    }
}

/* "850us", "12.30ms", "4.56s". */
static const char *fmt_us(int64_t v, char *buf, size_t n)
{
    const char *sign = v < 0 ? "-" : "";
    unsigned long long a = v < 0 ? (unsigned long long)-v
                                 : (unsigned long long)v;
    if (a < 1000)
        snprintf(buf, n, "%s%lluus", sign, a);
    else if (a < 1000000)
        snprintf(buf, n, "%s%.2fms", sign, (double)a / 1e3);
    else
        snprintf(buf, n, "%s%.2fs", sign, (double)a / 1e6);
    return buf;
}

/* When the schedule ends (µs since start), or -1 when unknown. */
static int64_t plan_end_us(const struct rp_ctx *c)
{
    const struct rp_plan *p = &c->plan;
    int64_t end = -1;
    if (p->mode == RM_SPEED && p->loops > 0)
        end = replay_sched_due(p, p->t0_us + p->span_us, p->nsel - 1,
                               p->scale - 1, p->loops - 1);
    else if (p->mode == RM_RATE && p->loops > 0)
        end = replay_sched_due(p, 0, p->nsel - 1, p->scale - 1, p->loops - 1);
    if (end >= 0)
        end = replay_warp_due(c, end);
    if (p->duration_us && (end < 0 || end > p->duration_us))
        end = p->duration_us;
    return end;
}

struct progress {
    int64_t last_us;      /* when the last line was printed */
    uint64_t last_sent;
    double rate;          /* sent per second over the last interval */
    int printed;          /* a live line is on the terminal */
};

static void progress(struct rp_ctx *c, struct progress *pg, int final)
{
    const struct rp_stats *st = &c->st;
    int64_t now = replay_now(c);
    int64_t every = c->tty ? TICK_MS * 1000 : PIPE_PROGRESS_US;
    if (c->o->quiet || now < 0)
        return;
    if (final) {
        if (pg->printed)
            fputs("\r\033[K", stderr);
        return;
    }
    if (now - pg->last_us < every)
        return;
    uint64_t sent = atomic_load(&c->sent);
    double dt = (double)(now - pg->last_us) / 1e6;
    pg->rate = dt > 0 ? (double)(sent - pg->last_sent) / dt : 0;
    pg->last_us = now;
    pg->last_sent = sent;
    char el[32], eta[48] = "", p50[32], p99[32], late[32];
    int64_t end = plan_end_us(c);
    if (end < 0 && c->total > 0 && pg->rate > 0)
        end = now + (int64_t)((double)(c->total - (int64_t)sent) /
                              pg->rate * 1e6);
    if (end >= 0) {
        int64_t left = end > now ? (end - now + 999999) / 1000000 : 0;
        if (left >= 3600)
            snprintf(eta, sizeof eta, " ETA %lldh%02lldm", (long long)(left / 3600),
                     (long long)(left / 60 % 60));
        else if (left >= 60)
            snprintf(eta, sizeof eta, " ETA %lldm%02llds", (long long)(left / 60),
                     (long long)(left % 60));
        else
            snprintf(eta, sizeof eta, " ETA %llds", (long long)left);
    }
    fmt_us(now / 100000 * 100000, el, sizeof el);
    char line[320];
    snprintf(line, sizeof line,
             "%s%s | sent %llu (%.0f/s) | in flight %llu | errors %llu | "
             "p50 %s p99 %s | late p99 %s",
             el, eta, (unsigned long long)sent, pg->rate,
             (unsigned long long)atomic_load(&c->inflight),
             (unsigned long long)st->errors,
             fmt_us(hist_pct(st->latency, 50), p50, sizeof p50),
             fmt_us(hist_pct(st->latency, 99), p99, sizeof p99),
             fmt_us(hist_pct(st->lateness, 99), late, sizeof late));
    if (c->tty) {
        fprintf(stderr, "\r\033[K%s", line);
        pg->printed = 1;
    } else {
        fprintf(stderr, "reprise: %s\n", line);
    }
    fflush(stderr);
}

#define WRITE_BATCH 64 /* results per corpus_add_results */

/* Results on their way to the corpus, written in multi-row inserts. */
struct wbatch {
    struct corpus_result v[WRITE_BATCH];
    char *errors[WRITE_BATCH]; /* the messages v[i].error points to */
    char *resps[WRITE_BATCH];  /* the responses v[i] keeps, or NULL */
    size_t n;
    struct corpus_result_corr corr[WRITE_BATCH]; /* of those correlated */
    size_t ncorr;
};

static void write_flush(struct rp_ctx *c, struct wbatch *w)
{
    char err[RP_ERRLEN];
    size_t added = 0;
    if (w->n && corpus_add_results(c->wr, c->run_id, w->v, w->n, &added,
                                   err)) {
        if (!c->result_errors)
            snprintf(c->rec_err, sizeof c->rec_err, "%s", err);
        c->result_errors += (int64_t)(w->n - added);
    }
    if (w->ncorr && corpus_add_result_corrs(c->wr, c->run_id, w->corr,
                                            w->ncorr, err)) {
        if (!c->result_errors)
            snprintf(c->rec_err, sizeof c->rec_err, "%s", err);
        c->result_errors++;
    }
    for (size_t i = 0; i < w->n; i++) {
        free(w->errors[i]);
        free(w->resps[i]);
    }
    w->n = w->ncorr = 0;
}

/* Queues r for the corpus; takes over r->error and r->resp. */
static void write_result(struct rp_ctx *c, struct wbatch *w,
                         const struct rp_res *r)
{
    struct corpus_result *cr = &w->v[w->n];
    memset(cr, 0, sizeof *cr);
    cr->exchange_id = r->exchange_id;
    cr->copy = r->copy;
    cr->loop = r->loop;
    cr->scheduled_us = r->scheduled_us;
    cr->sent_us = r->sent_us;
    cr->first_byte_us = r->first_byte_us;
    cr->done_us = r->done_us;
    cr->connect_us = r->connect_us;
    cr->status = r->status;
    cr->resp_bytes = r->resp_bytes;
    memcpy(cr->body_hash, r->body_hash, RP_HASH_LEN);
    cr->has_body_hash = r->has_body_hash;
    cr->error_class = r->error_class;
    cr->error = r->error;
    if (r->resp) {
        cr->resp_headers = r->resp;
        cr->resp_headers_len = r->resp_hlen;
        cr->resp_body = (const uint8_t *)r->resp + r->resp_hlen;
        cr->resp_body_len = r->resp_blen;
    }
    w->resps[w->n] = r->resp;
    if (r->subst || r->missing)
        w->corr[w->ncorr++] = (struct corpus_result_corr){
            r->exchange_id, r->copy, r->loop, r->subst, r->missing};
    w->errors[w->n++] = r->error;
    if (w->n == WRITE_BATCH)
        write_flush(c, w);
}

static void live_rec(struct rp_live_rec *l, const struct rp_res *r)
{
    l->endpoint = r->endpoint;
    l->status = r->status;
    l->cls = r->error_class;
    l->scheduled_us = r->scheduled_us;
    l->sent_us = r->sent_us;
    l->done_us = r->done_us;
}

void *replay_recorder_main(void *arg)
{
    struct rp_ctx *c = arg;
    struct rp_live_rec lv[DRAIN_MAX];
    struct rp_resq *q = &c->resq;
    struct progress pg = {0};
    struct timespec idle = {0, IDLE_NS};
    struct wbatch wb;
    wb.n = wb.ncorr = 0;
    pthread_setname_np(pthread_self(), "rp-recorder");
    /* Yield the CPU to the engines: lateness matters, recording can lag. */
    setpriority(PRIO_PROCESS, (id_t)gettid(), 5);
    for (;;) {
        /* Read producers first: at 0 with every queue empty, all is in. */
        int end = atomic_load(&q->producers) <= 0;
        size_t n = 0;
        int backlog = 0;
        for (int i = 0; i < q->nq; i++) {
            struct rp_res r;
            size_t k = 0;
            while (k < DRAIN_MAX && replay_spsc_pop(&q->q[i], &r)) {
                stats_add(&c->st, &r);
                step_add(c, &r);
                if (c->live)
                    live_rec(&lv[k], &r);
                write_result(c, &wb, &r); /* frees r.error when written */
                k++;
            }
            if (c->live && k)
                replay_live_add(c->live, lv, k, -1, 0);
            n += k;
            backlog |= k == DRAIN_MAX;
        }
        if (c->live) /* the clock and the in-flight gauge */
            replay_live_add(c->live, NULL, 0,
                            atomic_load(&c->go) ? replay_now(c) : -1,
                            atomic_load(&c->inflight));
        write_flush(c, &wb); /* what one round drained */
        progress(c, &pg, 0);
        steps_judge(c, 0);
        if (!n && end) {
            steps_judge(c, 1);
            break;
        }
        if (!backlog)
            nanosleep(&idle, NULL); /* batch the next drain */
    }
    progress(c, &pg, 1);
    return NULL;
}

/* ---- summary ------------------------------------------------------------ */

static void steps_text(struct rp_ctx *c, FILE *f);

static int64_t count_notsent(const struct rp_stats *st)
{
    return (int64_t)st->by_class[CORPUS_ERR_NOT_SENT];
}

/* Lateness that shows the generator could not keep up. */
static int late_warning(const struct rp_ctx *c)
{
    if (c->o->mode == RM_MAX || !rp_hist_count(c->st.lateness))
        return 0;
    return hist_pct(c->st.lateness, 99) > 10000;
}

/* The error messages, most common first, into idx. */
static int errmsg_order(const struct rp_stats *st, int *idx)
{
    for (int i = 0; i < st->nmsg; i++)
        idx[i] = i;
    for (int i = 1; i < st->nmsg; i++)
        for (int j = i; j > 0 && st->msg[idx[j - 1]].count <
                                     st->msg[idx[j]].count; j--) {
            int t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    return st->nmsg;
}

/* Failures (transport errors and 5xx) among the requests sent. */
static uint64_t failed_count(const struct rp_stats *st)
{
    return st->errors + st->by_status[5];
}

/* Most requests sent failed: the summary leads with the causes. */
static int mostly_failed(const struct rp_ctx *c)
{
    const struct rp_stats *st = &c->st;
    uint64_t sent = st->results - st->by_class[CORPUS_ERR_NOT_SENT];
    return sent && failed_count(st) * 2 > sent;
}

/* Advice that fits the leading cause, or NULL. */
static const char *advice_for(const struct rp_ctx *c, char *buf, size_t n)
{
    const struct rp_stats *st = &c->st;
    const struct rp_opts *o = c->o;
    int idx[RP_MAX_ERRMSGS];
    int nm = errmsg_order(st, idx);
    if (!st->errors && st->by_status[5]) {
        snprintf(buf, n, "the target answered with server errors (5xx): "
                 "see its logs; is --target the release you meant?");
        return buf;
    }
    if (!nm)
        return NULL;
    const struct rp_errmsg *m = &st->msg[idx[0]];
    char tmo[32];
    switch (m->cls) {
    case CORPUS_ERR_REFUSED:
        snprintf(buf, n, "nothing accepted connections on %s:%s: check that "
                 "the target is up and that --target names its host and "
                 "port", o->conn_host, o->conn_port);
        break;
    case CORPUS_ERR_TLS:
        if (strcasestr(m->text, "certificate"))
            snprintf(buf, n, "the target's TLS certificate was not "
                     "accepted: give its CA with --cacert FILE, or skip "
                     "verification with -k (--insecure)");
        else
            snprintf(buf, n, "the TLS handshake with %s:%s failed: check "
                     "that the target speaks TLS on that port (http:// for "
                     "plain HTTP)", o->conn_host, o->conn_port);
        break;
    case CORPUS_ERR_DNS:
        snprintf(buf, n, "the host name '%s' did not resolve: check its "
                 "spelling, or give an IP address in --target",
                 o->conn_host);
        break;
    case CORPUS_ERR_TIMEOUT:
        fmt_us(o->timeout_us, tmo, sizeof tmo);
        snprintf(buf, n, "the target did not answer within --timeout %s: "
                 "raise --timeout, or lower the load (--speed, --rate, "
                 "--concurrency)", tmo);
        break;
    case CORPUS_ERR_RESET:
        snprintf(buf, n, "the target closed connections mid-request: check "
                 "its logs and its connection limits; a lower load or a "
                 "lower --max-connections may help");
        break;
    case CORPUS_ERR_PROTOCOL:
        snprintf(buf, n, "the target's answers were not the HTTP expected: "
                 "check that --target is an HTTP endpoint (https:// for TLS, "
                 "--http2 for h2)");
        break;
    default:
        snprintf(buf, n, "see the messages above; 'reprise show DB ID' "
                 "prints one exchange");
        break;
    }
    return buf;
}

/* The first lines of a run whose requests mostly failed: how many, the
 * leading causes with their messages, and what to do. */
static void failure_lines(struct rp_ctx *c, FILE *f)
{
    const struct rp_stats *st = &c->st;
    uint64_t sent = st->results - st->by_class[CORPUS_ERR_NOT_SENT];
    uint64_t failed = failed_count(st);
    fprintf(f, "  FAILED    %llu of %llu requests sent got no good answer "
               "(%.1f%%); the leading causes:\n",
            (unsigned long long)failed, (unsigned long long)sent,
            100.0 * (double)failed / (double)sent);
    int idx[RP_MAX_ERRMSGS];
    int nm = errmsg_order(st, idx);
    for (int i = 0; i < nm && i < 5; i++) {
        const struct rp_errmsg *m = &st->msg[idx[i]];
        fprintf(f, "            %-8s %llu  %s\n",
                corpus_errclass_name(m->cls), (unsigned long long)m->count,
                m->text[0] ? m->text : "(no message)");
    }
    if (st->msg_other || nm > 5)
        fprintf(f, "            and %llu more with other messages\n",
                (unsigned long long)(st->msg_other));
    if (st->by_status[5])
        fprintf(f, "            5xx      %llu  server errors\n",
                (unsigned long long)st->by_status[5]);
    char adv[1200];
    if (advice_for(c, adv, sizeof adv))
        fprintf(f, "  advice    %s\n", adv);
}

/* Most responses are 401/403 and captured credentials were left out. */
static int auth_refused(const struct rp_ctx *c)
{
    const struct rp_stats *st = &c->st;
    return st->ok && st->by_status[4] * 2 > st->ok &&
           atomic_load(&c->redacted_dropped) > 0;
}

void replay_recorder_summary(struct rp_ctx *c, FILE *f, int64_t elapsed_us,
                             const char *status)
{
    const struct rp_stats *st = &c->st;
    char a[32], b[32], d[32], e[32], g[32];
    double secs = elapsed_us > 0 ? (double)elapsed_us / 1e6 : 1e-6;
    uint64_t sent = atomic_load(&c->sent);
    fprintf(f, "run %lld%s%s%s: %s in %.2f s (capture %lld, %lld exchanges "
               "selected, target %s)\n",
            (long long)c->run_id, c->o->label ? " \"" : "",
            c->o->label ? c->o->label : "", c->o->label ? "\"" : "", status,
            secs, (long long)c->plan.capture_id, (long long)c->plan.nsel,
            c->o->target);
    if (mostly_failed(c))
        failure_lines(c, f);
    if (auth_refused(c))
        fprintf(f, "  WARNING   %llu of %llu responses were 4xx, and %llu "
                   "redacted header values (Authorization, Cookie...) were "
                   "not sent: give staging's credentials with --set-header "
                   "'Authorization: ...' or --set-header 'Cookie: ...'\n",
                (unsigned long long)st->by_status[4],
                (unsigned long long)st->ok,
                (unsigned long long)atomic_load(&c->redacted_dropped));
    fprintf(f, "  requests  %llu scheduled, %llu sent, %lld not sent, "
               "%llu responses, %llu errors\n",
            (unsigned long long)st->results, (unsigned long long)sent,
            (long long)count_notsent(st), (unsigned long long)st->ok,
            (unsigned long long)st->errors);
    fprintf(f, "  rate      %.1f req/s sent, %.1f responses/s, %.2f MB/s "
               "response bodies\n",
            (double)sent / secs, (double)st->ok / secs,
            (double)st->resp_bytes / secs / 1e6);
    fprintf(f, "  status    1xx %llu  2xx %llu  3xx %llu  4xx %llu  5xx %llu\n",
            (unsigned long long)st->by_status[1],
            (unsigned long long)st->by_status[2],
            (unsigned long long)st->by_status[3],
            (unsigned long long)st->by_status[4],
            (unsigned long long)st->by_status[5]);
    if (st->status_compared)
        fprintf(f, "  matched   %llu of %llu responses had the captured "
                   "status (%.1f%%)\n",
                (unsigned long long)st->status_matched,
                (unsigned long long)st->status_compared,
                100.0 * (double)st->status_matched /
                    (double)st->status_compared);
    if (c->corr_on || c->o->ninjects || c->o->script) {
        fprintf(f, "  correlated");
        uint64_t tot = 0;
        for (int k = 0; k < CK__COUNT; k++) {
            uint64_t v = atomic_load(&c->corr_by_kind[k]);
            if (v)
                fprintf(f, " %s %llu", replay_corr_kind_names[k],
                        (unsigned long long)v);
            tot += v;
        }
        fprintf(f, "%s (values in %llu requests); %llu requests sent back "
                   "a value this replay never got (%llu values)\n",
                tot ? "" : " none",
                (unsigned long long)atomic_load(&c->corr_requests),
                (unsigned long long)atomic_load(&c->corr_missing),
                (unsigned long long)atomic_load(&c->corr_missing_values));
    }
    fprintf(f, "  errors   ");
    int any = 0;
    for (int k = 1; k < CORPUS_ERR__COUNT; k++) {
        if (k == CORPUS_ERR_NOT_SENT || !st->by_class[k])
            continue;
        fprintf(f, " %s %llu", corpus_errclass_name((enum corpus_errclass)k),
                (unsigned long long)st->by_class[k]);
        any = 1;
    }
    fprintf(f, "%s\n", any ? "" : " none");
    const struct {
        const char *name;
        const struct rp_hist *h;
        const char *what;
    } rows[] = {
        {"latency ", st->latency, "done - scheduled"},
        {"service ", st->service, "done - sent"},
        {"ttfb    ", st->ttfb, "first byte - sent"},
        {"lateness", st->lateness, "sent - scheduled"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        if (!rp_hist_count(rows[i].h)) {
            /* a failed request has no latency: never print it as 0 */
            fprintf(f, "  %s  none: no %s  (%s)\n", rows[i].name,
                    i < 3 ? "request got a response" : "request was sent",
                    rows[i].what);
            continue;
        }
        fprintf(f, "  %s  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (%s)\n",
                rows[i].name, fmt_us(hist_pct(rows[i].h, 50), a, sizeof a),
                fmt_us(hist_pct(rows[i].h, 90), b, sizeof b),
                fmt_us(hist_pct(rows[i].h, 99), d, sizeof d),
                fmt_us(hist_pct(rows[i].h, 99.9), e, sizeof e),
                fmt_us(rp_hist_max(rows[i].h), g, sizeof g), rows[i].what);
    }
    steps_text(c, f);
    replay_monitor_text(c->mon, f);
    int nw = atomic_load(&c->warp.n);
    for (int i = 0; i < nw; i++)
        fprintf(f, "  %s     changed from %g to %g at %s (from the "
                   "dashboard; the schedule re-anchored there)\n",
                c->o->mode == RM_RATE ? "rate " : "speed",
                atomic_load(&c->warp.seg[i].from),
                atomic_load(&c->warp.seg[i].to),
                fmt_us(atomic_load(&c->warp.seg[i].r_us), a, sizeof a));
    uint64_t caps = atomic_load(&c->cap_hits);
    if (caps)
        fprintf(f, "  %llu requests waited for a connection "
                   "(--max-connections %d reached)\n",
                (unsigned long long)caps, c->o->max_connections);
    uint64_t red = atomic_load(&c->redacted_dropped);
    if (red)
        fprintf(f, "  %llu redacted header values were not sent\n",
                (unsigned long long)red);
    uint64_t stored = atomic_load(&c->stored);
    uint64_t capped = atomic_load(&c->store_capped);
    if (stored || capped) {
        char more[96] = "";
        if (capped)
            snprintf(more, sizeof more, "; %llu more left out at "
                     "--store-bodies-max", (unsigned long long)capped);
        fprintf(f, "  stored    %llu responses (%.2f MiB before compression "
                   "and deduplication) for field-level diffs%s\n",
                (unsigned long long)stored,
                (double)atomic_load(&c->stored_bytes) / 1048576.0, more);
    }
    uint64_t part = atomic_load(&c->partial_bodies);
    if (part)
        fprintf(f, "  %llu requests were captured incomplete or truncated "
                   "(--max-body) and were sent as stored\n",
                (unsigned long long)part);
    if (late_warning(c) && !mostly_failed(c))
        fprintf(f, "warning: p99 lateness %s: the generator could not keep "
                   "up with the schedule; try more --threads, a higher "
                   "--max-connections or a lower --speed\n",
                fmt_us(hist_pct(st->lateness, 99), a, sizeof a));
    if (c->result_errors)
        fprintf(f, "warning: %lld results could not be written: %s\n",
                (long long)c->result_errors, c->rec_err);
}

static int json_hist(struct rp_buf *o, const char *name,
                     const struct rp_hist *h)
{
    if (!rp_hist_count(h)) /* no value is null, never 0 */
        return rp_buf_printf(o, "\"%s\":{\"count\":0,\"p50_us\":null,"
                                "\"p90_us\":null,\"p99_us\":null,"
                                "\"p999_us\":null,\"max_us\":null,"
                                "\"mean_us\":null}", name);
    return rp_buf_printf(o, "\"%s\":{\"count\":%llu,\"p50_us\":%lld,"
                            "\"p90_us\":%lld,\"p99_us\":%lld,"
                            "\"p999_us\":%lld,\"max_us\":%lld,"
                            "\"mean_us\":%.1f}",
                         name, (unsigned long long)rp_hist_count(h),
                         (long long)hist_pct(h, 50),
                         (long long)hist_pct(h, 90),
                         (long long)hist_pct(h, 99),
                         (long long)hist_pct(h, 99.9),
                         (long long)rp_hist_max(h), rp_hist_mean(h));
}

static const char *step_by_name(const struct rp_ctx *c)
{
    return c->o->step_by_scale ? "scale"
           : c->o->mode == RM_RATE ? "rate" : "speed";
}

/* ,"steps":[{step, multiple, start_us, end_us, ...}],"stopped_by":... */
static int steps_json(struct rp_ctx *c, struct rp_buf *o)
{
    const struct rp_opts *op = c->o;
    int rc = rp_buf_printf(o, ",\"step_by\":\"%s\",\"step_duration_us\":"
                              "%lld,\"steps\":[", step_by_name(c),
                           (long long)op->step_us);
    for (int k = 0; !rc && k < c->nsteps_run; k++) {
        const struct rp_step_stats *s = &c->step[k];
        double secs = (double)op->step_us / 1e6;
        rc = rp_buf_printf(o, "%s{\"step\":%d,\"multiple\":%g,"
                              "\"start_us\":%lld,\"end_us\":%lld,"
                              "\"scheduled\":%llu,\"responses\":%llu,"
                              "\"errors\":%llu,\"offered_rps\":%.2f,"
                              "\"p99_us\":",
                           k ? "," : "", k + 1, op->steps[k],
                           (long long)((int64_t)k * op->step_us),
                           (long long)((int64_t)(k + 1) * op->step_us),
                           (unsigned long long)s->results,
                           (unsigned long long)s->ok,
                           (unsigned long long)s->errors,
                           (double)s->results / secs);
        if (!rc)
            rc = s->latency && rp_hist_count(s->latency)
                     ? rp_buf_printf(o, "%lld}",
                                     (long long)hist_pct(s->latency, 99))
                     : rp_buf_puts(o, "null}");
    }
    if (!rc)
        rc = rp_buf_puts(o, "],\"stopped_by\":");
    if (!rc && c->stopped_step >= 0) {
        const struct rp_stopif *k = &op->stopif[c->stopped_cond];
        rc = rp_buf_printf(o, "{\"step\":%d,\"multiple\":%g,"
                              "\"condition\":", c->stopped_step + 1,
                           op->steps[c->stopped_step]);
        if (!rc)
            rc = rp_buf_json_str(o, k->text, strlen(k->text));
        if (!rc)
            rc = rp_buf_printf(o, ",\"value\":%.3f,\"unit\":\"%s\"}",
                               c->stopped_value,
                               k->metric == RS_ERRORS ? "%" : "us");
    } else if (!rc) {
        rc = rp_buf_puts(o, "null");
    }
    return rc;
}

/* The steps as text lines. */
static void steps_text(struct rp_ctx *c, FILE *f)
{
    const struct rp_opts *op = c->o;
    char a[32];
    double secs = (double)op->step_us / 1e6;
    for (int k = 0; k < c->nsteps_run; k++) {
        const struct rp_step_stats *s = &c->step[k];
        fprintf(f, "  step %-3d %s x%g: %.1f req/s scheduled, %llu "
                   "answered, %llu errors, p99 %s\n", k + 1,
                step_by_name(c), op->steps[k], (double)s->results / secs,
                (unsigned long long)s->ok, (unsigned long long)s->errors,
                s->latency && rp_hist_count(s->latency)
                    ? fmt_us(hist_pct(s->latency, 99), a, sizeof a)
                    : "none");
    }
    if (c->stopped_step >= 0) {
        const struct rp_stopif *k = &op->stopif[c->stopped_cond];
        if (k->metric == RS_ERRORS)
            snprintf(a, sizeof a, "%.2f%%", c->stopped_value);
        else
            fmt_us((int64_t)c->stopped_value, a, sizeof a);
        fprintf(f, "  stopped   after step %d (x%g): --stop-if '%s' broke "
                   "(%s)\n", c->stopped_step + 1,
                op->steps[c->stopped_step], k->text, a);
    }
}

void replay_recorder_steps_cleanup(struct rp_ctx *c)
{
    for (int k = 0; k < RP_MAX_STEPS; k++) {
        rp_hist_free(c->step[k].latency);
        c->step[k].latency = NULL;
    }
}

int replay_recorder_summary_json(struct rp_ctx *c, struct rp_buf *o,
                                 int64_t elapsed_us, const char *status)
{
    const struct rp_stats *st = &c->st;
    double secs = elapsed_us > 0 ? (double)elapsed_us / 1e6 : 1e-6;
    uint64_t sent = atomic_load(&c->sent);
    int rc = rp_buf_printf(o, "{\"run_id\":%lld,\"status\":\"%s\","
                              "\"capture_id\":%lld,\"selected\":%lld,"
                              "\"elapsed_us\":%lld,\"scheduled\":%llu,"
                              "\"sent\":%llu,\"not_sent\":%lld,"
                              "\"responses\":%llu,\"errors\":%llu,"
                              "\"sent_per_s\":%.2f,\"responses_per_s\":%.2f,"
                              "\"resp_bytes\":%llu,\"cap_hits\":%llu,"
                              "\"redacted_dropped\":%llu,"
                              "\"partial_bodies\":%llu,\"late_warning\":%s,",
                           (long long)c->run_id, status,
                           (long long)c->plan.capture_id,
                           (long long)c->plan.nsel, (long long)elapsed_us,
                           (unsigned long long)st->results,
                           (unsigned long long)sent,
                           (long long)count_notsent(st),
                           (unsigned long long)st->ok,
                           (unsigned long long)st->errors, (double)sent / secs,
                           (double)st->ok / secs,
                           (unsigned long long)st->resp_bytes,
                           (unsigned long long)atomic_load(&c->cap_hits),
                           (unsigned long long)atomic_load(&c->redacted_dropped),
                           (unsigned long long)atomic_load(&c->partial_bodies),
                           late_warning(c) ? "true" : "false");
    if (!rc)
        rc = rp_buf_printf(o, "\"stored_responses\":%llu,"
                              "\"stored_bytes\":%llu,\"store_capped\":%llu,",
                           (unsigned long long)atomic_load(&c->stored),
                           (unsigned long long)atomic_load(&c->stored_bytes),
                           (unsigned long long)atomic_load(&c->store_capped));
    if (!rc)
        rc = rp_buf_printf(o, "\"planned\":%lld,\"t0_wall_us\":%lld,"
                              "\"first_sent_us\":%lld,",
                           (long long)c->total, (long long)c->t0_wall_us,
                           (long long)st->first_sent_us);
    if (!rc)
        rc = rp_buf_puts(o, "\"speed_changes\":[");
    int nw = atomic_load(&c->warp.n);
    for (int i = 0; !rc && i < nw; i++)
        rc = rp_buf_printf(o, "%s{\"at_us\":%lld,\"from\":%g,\"to\":%g}",
                           i ? "," : "",
                           (long long)atomic_load(&c->warp.seg[i].r_us),
                           atomic_load(&c->warp.seg[i].from),
                           atomic_load(&c->warp.seg[i].to));
    if (!rc)
        rc = rp_buf_puts(o, "],");
    if (!rc && c->o->shard_count)
        rc = rp_buf_printf(o, "\"shard_index\":%d,\"shard_count\":%d,",
                           c->o->shard_index, c->o->shard_count);
    if (!rc)
        rc = rp_buf_printf(o, "\"status_compared\":%llu,"
                              "\"status_matched\":%llu,",
                           (unsigned long long)st->status_compared,
                           (unsigned long long)st->status_matched);
    if (!rc && (c->corr_on || c->o->ninjects || c->o->script)) {
        rc = rp_buf_puts(o, "\"correlated\":{");
        for (int k = 0; !rc && k < CK__COUNT; k++)
            rc = rp_buf_printf(o, "%s\"%s\":%llu", k ? "," : "",
                               replay_corr_kind_names[k],
                               (unsigned long long)atomic_load(
                                   &c->corr_by_kind[k]));
        if (!rc)
            rc = rp_buf_printf(
                o, "},\"correlated_requests\":%llu,"
                   "\"uncorrelated_requests\":%llu,"
                   "\"uncorrelated_values\":%llu,",
                (unsigned long long)atomic_load(&c->corr_requests),
                (unsigned long long)atomic_load(&c->corr_missing),
                (unsigned long long)atomic_load(&c->corr_missing_values));
    }
    if (!rc)
        rc = rp_buf_printf(o, "\"status_classes\":{\"1xx\":%llu,\"2xx\":%llu,"
                              "\"3xx\":%llu,\"4xx\":%llu,\"5xx\":%llu},"
                              "\"error_classes\":{",
                           (unsigned long long)st->by_status[1],
                           (unsigned long long)st->by_status[2],
                           (unsigned long long)st->by_status[3],
                           (unsigned long long)st->by_status[4],
                           (unsigned long long)st->by_status[5]);
    for (int k = 1; !rc && k < CORPUS_ERR__COUNT; k++)
        rc = rp_buf_printf(o, "%s\"%s\":%llu", k > 1 ? "," : "",
                           corpus_errclass_name((enum corpus_errclass)k),
                           (unsigned long long)st->by_class[k]);
    if (!rc)
        rc = rp_buf_puts(o, "},\"causes\":[");
    int idx[RP_MAX_ERRMSGS];
    int nm = errmsg_order(st, idx);
    for (int i = 0; !rc && i < nm; i++) {
        const struct rp_errmsg *m = &st->msg[idx[i]];
        rc = rp_buf_printf(o, "%s{\"class\":\"%s\",\"count\":%llu,"
                              "\"message\":", i ? "," : "",
                           corpus_errclass_name(m->cls),
                           (unsigned long long)m->count);
        if (!rc)
            rc = rp_buf_json_str(o, m->text, strlen(m->text));
        if (!rc)
            rc = rp_buf_puts(o, "}");
    }
    char adv[1200];
    const char *advice = mostly_failed(c) ? advice_for(c, adv, sizeof adv)
                                          : NULL;
    if (!rc)
        rc = rp_buf_printf(o, "],\"mostly_failed\":%s,\"advice\":",
                           mostly_failed(c) ? "true" : "false");
    if (!rc)
        rc = advice ? rp_buf_json_str(o, advice, strlen(advice))
                    : rp_buf_puts(o, "null");
    if (!rc)
        rc = rp_buf_puts(o, ",");
    if (!rc)
        rc = json_hist(o, "latency", st->latency);
    if (!rc)
        rc = rp_buf_puts(o, ",");
    if (!rc)
        rc = json_hist(o, "service", st->service);
    if (!rc)
        rc = rp_buf_puts(o, ",");
    if (!rc)
        rc = json_hist(o, "ttfb", st->ttfb);
    if (!rc)
        rc = rp_buf_puts(o, ",");
    if (!rc)
        rc = json_hist(o, "lateness", st->lateness);
    if (!rc && c->o->nsteps)
        rc = steps_json(c, o);
    if (!rc && c->mon)
        rc = replay_monitor_json(c->mon, o);
    if (!rc)
        rc = rp_buf_puts(o, "}");
    return rc;
}
