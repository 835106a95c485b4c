/*
 * monitor.c: `reprise replay --monitor URL` and `--monitor-pid PID`: watch
 * the target while the run loads it. Once a second, in a thread of its
 * own, every URL is fetched (libcurl, 900 ms budget, 16 MiB at most) and
 * parsed strictly as the Prometheus text format (proto/prom.c), and every
 * PID's CPU (cores used since the last sample), resident memory, threads
 * and open files are read from /proc. Every scrape is kept, a failed one
 * with its error and no points; a malformed exposition fails its scrape
 * as a whole (a half-read page would fake a drop). Series per source are
 * bounded (RP_MONITOR_SERIES): new ones beyond it are counted, not kept.
 * The scrapes stay in memory (a point is 12 bytes) and are stored with the
 * run when it ends, so the monitor never touches the corpus while the run
 * writes its results and never delays a request.
 */
#include "replay/replay_int.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "corpus/corpus.h"
#include "proto/prom.h"

#define RP_MONITOR_SERIES 1000         /* series kept per source */
#define RP_MONITOR_BODY_MAX (16 << 20) /* bytes read of one scrape */
#define RP_MONITOR_PERIOD_US 1000000

struct mon_series {
    char *name;
    const char *type;      /* static string */
};

struct mon_point {
    uint32_t series;       /* index in its source's table */
    double value;
};

struct mon_scrape {
    int source;
    int64_t t_us, took_us;
    char *error;           /* NULL when it succeeded */
    struct mon_point *p;
    size_t n;
};

struct mon_source {
    char *name;            /* URL or "pid:PID" */
    int pid;               /* 0 for a URL */
    CURL *curl;
    struct mon_series *series;
    size_t nseries, capseries;
    uint64_t dropped;      /* points of series over the bound */
    int warned;
    /* --monitor-pid: the previous CPU sample */
    double prev_cpu_s;
    int64_t prev_t_us;
    int have_prev;
};

struct replay_monitor {
    struct rp_ctx *c;
    struct mon_source *src;
    int nsrc;
    struct mon_scrape *sc;
    size_t nsc, capsc;
    uint64_t failed;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    /* the scrape being parsed */
    struct mon_point *cur;
    size_t ncur, capcur;
    struct mon_source *cur_src;
    struct rp_buf body;
    int body_over;
};

static const char *type_static(const char *t)
{
    static const char *const types[] = {"counter", "gauge", "histogram",
                                        "summary", "untyped"};
    for (size_t i = 0; i < 5; i++)
        if (!strcmp(t, types[i]))
            return types[i];
    return "untyped";
}

/* The index of series `name` in s, adding it; -1 when over the bound or
 * out of memory. */
static long series_index(struct mon_source *s, const char *name,
                         const char *type)
{
    for (size_t i = s->nseries; i-- > 0;)
        if (!strcmp(s->series[i].name, name))
            return (long)i;
    if (s->nseries >= RP_MONITOR_SERIES)
        return -1;
    if (s->nseries == s->capseries) {
        size_t cap = s->capseries ? 2 * s->capseries : 16;
        struct mon_series *n = realloc(s->series, cap * sizeof *n);
        if (!n)
            return -1;
        s->series = n;
        s->capseries = cap;
    }
    char *dup = strdup(name);
    if (!dup)
        return -1;
    s->series[s->nseries].name = dup;
    s->series[s->nseries].type = type_static(type);
    return (long)s->nseries++;
}

static int add_point(struct replay_monitor *m, const char *name,
                     const char *type, double v)
{
    long i = series_index(m->cur_src, name, type);
    if (i < 0) {
        m->cur_src->dropped++;
        return 0;
    }
    if (m->ncur == m->capcur) {
        size_t cap = m->capcur ? 2 * m->capcur : 64;
        struct mon_point *n = realloc(m->cur, cap * sizeof *n);
        if (!n)
            return RP_ENOMEM;
        m->cur = n;
        m->capcur = cap;
    }
    m->cur[m->ncur].series = (uint32_t)i;
    m->cur[m->ncur++].value = v;
    return 0;
}

static int on_sample(void *arg, const char *series, const char *name,
                     const char *type, double value)
{
    (void)name;
    return add_point(arg, series, type, value);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct replay_monitor *m = arg;
    size_t len = size * n;
    if (m->body.len + len > RP_MONITOR_BODY_MAX) {
        m->body_over = 1;
        return 0;
    }
    return rp_buf_append(&m->body, p, len) ? 0 : len;
}

/* Fetches and parses one URL into m->cur; the error message, or NULL. */
static char *scrape_url(struct replay_monitor *m, struct mon_source *s)
{
    char msg[320];
    rp_buf_reset(&m->body);
    m->body_over = 0;
    CURL *h = s->curl;
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, m);
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        snprintf(msg, sizeof msg, "%s", m->body_over
                 ? "the exposition is larger than 16 MiB"
                 : curl_easy_strerror(rc));
        return strdup(msg);
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        snprintf(msg, sizeof msg, "HTTP status %ld", status);
        return strdup(msg);
    }
    char perr[256];
    int r = proto_prom_parse(m->body.data ? m->body.data : "", m->body.len,
                             on_sample, m, perr, sizeof perr);
    if (r == RP_ENOMEM)
        return strdup("out of memory");
    if (r) {
        m->ncur = 0; /* a page half read would fake a drop */
        snprintf(msg, sizeof msg, "malformed exposition: %s", perr);
        return strdup(msg);
    }
    return NULL;
}

/* Reads /proc/PID into m->cur; the error message, or NULL. */
static char *scrape_pid(struct replay_monitor *m, struct mon_source *s,
                        int64_t t_us)
{
    char path[64], buf[4096], msg[160];
    snprintf(path, sizeof path, "/proc/%d/stat", s->pid);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(msg, sizeof msg, "process %d: %s", s->pid,
                 errno == ENOENT ? "has exited" : strerror(errno));
        return strdup(msg);
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* the command name may hold spaces and parentheses: fields follow the
     * last ')' */
    char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    long threads = 0;
    long long rss_pages = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                            "%llu %llu %*d %*d %*d %*d %ld %*d %*u %*u "
                            "%lld", &ut, &st, &threads, &rss_pages) != 4)
        return strdup("cannot read /proc/PID/stat");
    double cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    if (s->have_prev && t_us > s->prev_t_us &&
        add_point(m, "process_cpu_cores", "gauge",
                  (cpu_s - s->prev_cpu_s) /
                      ((double)(t_us - s->prev_t_us) / 1e6)))
        return strdup("out of memory");
    s->prev_cpu_s = cpu_s;
    s->prev_t_us = t_us;
    s->have_prev = 1;
    long page = sysconf(_SC_PAGESIZE);
    int fds = 0;
    snprintf(path, sizeof path, "/proc/%d/fd", s->pid);
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            fds += e->d_name[0] != '.';
        closedir(d);
    }
    if (add_point(m, "process_resident_memory_bytes", "gauge",
                  (double)rss_pages * (double)page) ||
        add_point(m, "process_threads", "gauge", (double)threads) ||
        (d && add_point(m, "process_open_fds", "gauge", (double)fds)))
        return strdup("out of memory");
    return NULL;
}

static int keep_scrape(struct replay_monitor *m, int src, int64_t t_us,
                       int64_t took_us, char *error)
{
    if (m->nsc == m->capsc) {
        size_t cap = m->capsc ? 2 * m->capsc : 256;
        struct mon_scrape *n = realloc(m->sc, cap * sizeof *n);
        if (!n) {
            free(error);
            return RP_ENOMEM;
        }
        m->sc = n;
        m->capsc = cap;
    }
    struct mon_scrape *x = &m->sc[m->nsc];
    memset(x, 0, sizeof *x);
    x->source = src;
    x->t_us = t_us;
    x->took_us = took_us;
    x->error = error;
    if (m->ncur) {
        x->p = malloc(m->ncur * sizeof *x->p);
        if (!x->p) {
            free(error);
            return RP_ENOMEM;
        }
        memcpy(x->p, m->cur, m->ncur * sizeof *x->p);
        x->n = m->ncur;
    }
    m->nsc++;
    return 0;
}

static void scrape_all(struct replay_monitor *m)
{
    for (int i = 0; i < m->nsrc; i++) {
        struct mon_source *s = &m->src[i];
        int64_t t = replay_now(m->c), t1 = rp_mono_us();
        m->cur_src = s;
        m->ncur = 0;
        char *error = s->pid ? scrape_pid(m, s, t) : scrape_url(m, s);
        int64_t took = rp_mono_us() - t1;
        if (error) {
            m->failed++;
            if (!s->warned++)
                rp_warn("--monitor %s: %s (recorded; the run goes on)",
                        s->name, error);
        }
        if (keep_scrape(m, i, t, took, error))
            return;
    }
}

static void *monitor_main(void *arg)
{
    struct replay_monitor *m = arg;
    pthread_setname_np(pthread_self(), "rp-monitor");
    int64_t next = rp_mono_us();
    pthread_mutex_lock(&m->mu);
    while (!m->stop) {
        pthread_mutex_unlock(&m->mu);
        scrape_all(m);
        next += RP_MONITOR_PERIOD_US;
        int64_t now = rp_mono_us();
        if (next < now) /* a slow scrape: skip the ticks it overran */
            next += (now - next) / RP_MONITOR_PERIOD_US *
                        RP_MONITOR_PERIOD_US + RP_MONITOR_PERIOD_US;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t wait = next - rp_mono_us();
        if (wait < 0)
            wait = 0;
        ts.tv_sec += (time_t)(wait / 1000000);
        ts.tv_nsec += (long)(wait % 1000000) * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&m->mu);
        while (!m->stop &&
               pthread_cond_timedwait(&m->cv, &m->mu, &ts) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&m->mu);
    scrape_all(m); /* the state at the end of the run */
    return NULL;
}

int replay_monitor_start(struct rp_ctx *c, struct replay_monitor **out,
                         char *err)
{
    const struct rp_opts *o = c->o;
    *out = NULL;
    if (!o->nmonitor && !o->nmonitor_pid)
        return 0;
    struct replay_monitor *m = calloc(1, sizeof *m);
    if (!m)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    m->c = c;
    m->src = calloc((size_t)(o->nmonitor + o->nmonitor_pid), sizeof *m->src);
    if (!m->src) {
        free(m);
        return rp_fail(err, RP_ENOMEM, "out of memory");
    }
    if (o->nmonitor && curl_global_init(CURL_GLOBAL_DEFAULT)) {
        free(m->src);
        free(m);
        return rp_fail(err, RP_EIO, "libcurl initialisation failed");
    }
    rp_buf_init(&m->body, RP_MONITOR_BODY_MAX);
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    *out = m;
    for (int i = 0; i < o->nmonitor; i++) {
        struct mon_source *s = &m->src[m->nsrc++];
        if (!(s->name = strdup(o->monitor[i])) ||
            !(s->curl = curl_easy_init()))
            return rp_fail(err, RP_ENOMEM, "out of memory");
        curl_easy_setopt(s->curl, CURLOPT_URL, o->monitor[i]);
        curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, 900L);
        curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, 500L);
        curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(s->curl, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(s->curl, CURLOPT_USERAGENT, "reprise/" RP_VERSION
                         " (--monitor)");
        if (o->insecure) {
            curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (o->cacert)
            curl_easy_setopt(s->curl, CURLOPT_CAINFO, o->cacert);
    }
    for (int i = 0; i < o->nmonitor_pid; i++) {
        struct mon_source *s = &m->src[m->nsrc++];
        char name[32];
        snprintf(name, sizeof name, "pid:%d", o->monitor_pid[i]);
        s->pid = o->monitor_pid[i];
        if (!(s->name = strdup(name)))
            return rp_fail(err, RP_ENOMEM, "out of memory");
    }
    if (pthread_create(&m->thread, NULL, monitor_main, m))
        return rp_fail(err, RP_EIO, "cannot start the monitor thread");
    m->started = 1;
    return 0;
}

void replay_monitor_stop(struct replay_monitor *m)
{
    if (!m || !m->started)
        return;
    pthread_mutex_lock(&m->mu);
    m->stop = 1;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    m->started = 0;
}

int replay_monitor_store(struct replay_monitor *m, struct corpus *wr,
                         int64_t run_id, char *err)
{
    if (!m || !m->nsc)
        return 0;
    struct corpus_monitor_scrape *sc = calloc(m->nsc, sizeof *sc);
    size_t total = 0;
    for (size_t i = 0; i < m->nsc; i++)
        total += m->sc[i].n;
    struct corpus_monitor_point *pt = calloc(total ? total : 1, sizeof *pt);
    if (!sc || !pt) {
        free(sc);
        free(pt);
        return rp_fail(err, RP_ENOMEM, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < m->nsc; i++) {
        const struct mon_scrape *x = &m->sc[i];
        const struct mon_source *s = &m->src[x->source];
        sc[i].source = s->name;
        sc[i].t_us = x->t_us;
        sc[i].took_us = x->took_us;
        sc[i].error = x->error;
        sc[i].point = &pt[k];
        sc[i].npoints = x->n;
        for (size_t j = 0; j < x->n; j++, k++) {
            pt[k].name = s->series[x->p[j].series].name;
            pt[k].type = s->series[x->p[j].series].type;
            pt[k].value = x->p[j].value;
        }
    }
    int rc = corpus_monitor_write(wr, run_id, sc, m->nsc, err);
    free(sc);
    free(pt);
    return rc;
}

int replay_monitor_json(const struct replay_monitor *m, struct rp_buf *b)
{
    if (!m)
        return 0;
    int rc = rp_buf_puts(b, ",\"monitor\":[");
    for (int i = 0; !rc && i < m->nsrc; i++) {
        const struct mon_source *s = &m->src[i];
        uint64_t n = 0, failed = 0;
        const char *first = NULL;
        for (size_t j = 0; j < m->nsc; j++)
            if (m->sc[j].source == i) {
                n++;
                if (m->sc[j].error && !failed++)
                    first = m->sc[j].error;
            }
        rc = rp_buf_printf(b, "%s{\"source\":", i ? "," : "");
        if (!rc)
            rc = rp_buf_json_str(b, s->name, strlen(s->name));
        if (!rc)
            rc = rp_buf_printf(b, ",\"scrapes\":%llu,\"failed\":%llu,"
                                  "\"series\":%zu,\"series_dropped\":%llu,"
                                  "\"first_error\":",
                               (unsigned long long)n,
                               (unsigned long long)failed, s->nseries,
                               (unsigned long long)s->dropped);
        if (!rc)
            rc = first ? rp_buf_json_str(b, first, strlen(first))
                       : rp_buf_puts(b, "null");
        if (!rc)
            rc = rp_buf_puts(b, "}");
    }
    if (!rc)
        rc = rp_buf_puts(b, "]");
    return rc;
}

void replay_monitor_text(const struct replay_monitor *m, FILE *f)
{
    if (!m)
        return;
    for (int i = 0; i < m->nsrc; i++) {
        const struct mon_source *s = &m->src[i];
        uint64_t n = 0, failed = 0;
        for (size_t j = 0; j < m->nsc; j++)
            if (m->sc[j].source == i) {
                n++;
                failed += m->sc[j].error != NULL;
            }
        fprintf(f, "  monitor   %s: %llu scrapes, %llu failed, %zu series%s",
                s->name, (unsigned long long)n, (unsigned long long)failed,
                s->nseries, s->dropped ? "" : "\n");
        if (s->dropped)
            fprintf(f, " (%llu points of series over %d dropped)\n",
                    (unsigned long long)s->dropped, RP_MONITOR_SERIES);
    }
}

void replay_monitor_free(struct replay_monitor *m)
{
    if (!m)
        return;
    replay_monitor_stop(m);
    for (int i = 0; i < m->nsrc; i++) {
        struct mon_source *s = &m->src[i];
        if (s->curl)
            curl_easy_cleanup(s->curl);
        for (size_t k = 0; k < s->nseries; k++)
            free(s->series[k].name);
        free(s->series);
        free(s->name);
    }
    for (size_t i = 0; i < m->nsc; i++) {
        free(m->sc[i].error);
        free(m->sc[i].p);
    }
    if (m->c->o->nmonitor)
        curl_global_cleanup();
    free(m->sc);
    free(m->cur);
    free(m->src);
    rp_buf_cleanup(&m->body);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    free(m);
}
