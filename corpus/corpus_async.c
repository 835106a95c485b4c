/*
 * corpus_async.c: the asynchronous writer used by capture. When switched on
 * (corpus_set_async), corpus_add_connection, corpus_connection_end and
 * corpus_add_exchange copy their input into a bounded queue and return at
 * once with an id from counters started at MAX(id) + 1: the id SQLite gives
 * the row as long as no other process adds rows meanwhile. If one does
 * (a live capture and an import into the same file), the writer maps the
 * connection ids it handed out to the real rows, so exchanges always point
 * at the right connection. The bodies are hashed on the caller's thread; a
 * writer thread owned by the struct corpus does compression and SQLite,
 * committing when a second has passed since the last commit, also while the
 * queue is idle. The first write error is kept and returned by every later
 * call. Everything else (flush, capture end, close) first waits until the
 * queue is empty and the writer idle, then uses the connection from the
 * caller's thread while the writer is held off it.
 *
 * The public write API is here too, above both paths: each entry point
 * either queues for the writer thread or, in sync mode (leaving async mode
 * first where the write needs the connection), calls the synchronous
 * writer in corpus_write.c. corpus_write.c never calls back up here, so
 * the writer thread and the writers do not depend on each other in a
 * circle.
 */
#include "corpus_priv.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX_BYTES (2u << 20) /* copied jobs waiting for the writer */
#define JOB_MIN_CAP 2048            /* typical exchange: one reusable size */
#define JOB_RECYCLE_MAX (64u << 10) /* larger jobs are freed, not reused */
#define COMMIT_EVERY_US 1000000
#define MEMO_SLOTS 64               /* small bodies whose hash is known */
#define MEMO_MAX_BYTES 512          /* ... up to this size */

/* A body seen recently and its hash: repeated small bodies (error pages,
 * "ok", static files) skip SHA-256, whose per-call setup cost more than
 * the hashing itself for them. Matched by content, never by a weak hash. */
struct hash_memo {
    size_t len;                     /* 0 = empty slot */
    uint8_t hash[RP_HASH_LEN];
    uint8_t data[MEMO_MAX_BYTES];
};

enum job_kind { JOB_CONN, JOB_CONN_END, JOB_EXCHANGE };

struct job {
    struct job *next;
    enum job_kind kind;
    size_t cap;               /* bytes allocated for data[] */
    int64_t id;               /* id handed out (connection, exchange) */
    int64_t last_us;          /* JOB_CONN_END */
    union {
        struct corpus_conn conn;
        struct corpus_exchange ex;
    } u;
    char data[];              /* the strings and bodies the views point to */
};

struct corpus_async {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work;      /* writer: a job arrived, stop or release */
    pthread_cond_t space;     /* producer: the queue has room */
    pthread_cond_t idle;      /* holder: queue empty and writer idle */
    struct job *head, *tail;
    size_t bytes;             /* allocated by the queued jobs */
    struct job *done;         /* jobs written, handed back for reuse */
    size_t done_bytes;
    struct job *spare;        /* caller's thread only: jobs to reuse */
    int busy;                 /* the writer is working on taken jobs */
    int hold;                 /* the caller's thread uses the connection */
    int stop;
    int err;                  /* first write error, sticky */
    char errmsg[RP_ERRLEN];
    int64_t next_conn_id, next_ex_id; /* caller's thread only */
    EVP_MD *sha256;           /* caller's thread: hashing with one reused */
    EVP_MD_CTX *hctx;         /* context (rp_hash makes one per call) */
    struct hash_memo memo[MEMO_SLOTS]; /* caller's thread */
    /* Writer only: handed-out connection ids whose row got another id
     * (another process added rows meanwhile), as segments: from handle
     * seg_from[i] on, the row id is handle + seg_delta[i]. Both grow with
     * the handles, so a lookup is a binary search; usually empty. */
    int64_t *seg_from, *seg_delta;
    size_t nseg, segcap;
};

/* The row id of connection handle h (writer thread). */
static int64_t conn_row_id(const struct corpus_async *a, int64_t h)
{
    size_t lo = 0, hi = a->nseg;
    while (lo < hi) { /* first segment starting after h */
        size_t mid = (lo + hi) / 2;
        if (a->seg_from[mid] <= h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? h + a->seg_delta[lo - 1] : h;
}

/* Turns an exchange's connection handle into the row id (writer thread;
 * once per exchange, right before it is written). */
static void map_exchange(const struct corpus_async *a,
                         struct corpus_exchange *ex)
{
    if (a->nseg && ex->conn_id > 0)
        ex->conn_id = conn_row_id(a, ex->conn_id);
}

/* Records that handle h became row id `row` (writer thread). */
static int conn_map(struct corpus *c, int64_t h, int64_t row, char *err)
{
    struct corpus_async *a = c->aq;
    int64_t delta = row - h;
    if (delta == (a->nseg ? a->seg_delta[a->nseg - 1] : 0))
        return RP_OK;
    if (a->nseg == a->segcap) {
        size_t cap = a->segcap ? a->segcap * 2 : 8;
        int64_t *f = realloc(a->seg_from, cap * sizeof *f);
        if (f)
            a->seg_from = f;
        int64_t *d = f ? realloc(a->seg_delta, cap * sizeof *d) : NULL;
        if (!d)
            return rp_fail(err, RP_ENOMEM, "%s: out of memory", c->path);
        a->seg_delta = d;
        a->segcap = cap;
    }
    a->seg_from[a->nseg] = h;
    a->seg_delta[a->nseg++] = delta;
    return RP_OK;
}

/* Writer side: runs one job; the batch is opened by the write functions. */
static int run_job(struct corpus *c, struct job *j, char *err)
{
    int64_t row;
    int r;
    switch (j->kind) {
    case JOB_CONN:
        r = corpus_write_connection(c, &j->u.conn, &row, err);
        return r ? r : conn_map(c, j->id, row, err);
    case JOB_CONN_END:
        return corpus_write_connection_end(c, conn_row_id(c->aq, j->id),
                                           j->last_us, err);
    case JOB_EXCHANGE:
    {
        map_exchange(c->aq, &j->u.ex);
        const struct corpus_exchange *ex = &j->u.ex;
        return corpus_write_exchanges(c, &ex, 1, 1, NULL, err);
    }
    }
    return RP_OK;
}

/* Records the first error (called with mu held). */
static void set_err(struct corpus_async *a, int r, const char *msg)
{
    if (a->err)
        return;
    a->err = r;
    snprintf(a->errmsg, sizeof a->errmsg, "%s", msg);
}

static void deadline_after(int64_t mono_us, struct timespec *ts)
{
    ts->tv_sec = (time_t)(mono_us / 1000000);
    ts->tv_nsec = (long)(mono_us % 1000000) * 1000;
}

static void free_list(struct job *j)
{
    while (j) {
        struct job *next = j->next;
        free(j);
        j = next;
    }
}

/* Keeps a written job for reuse (small ones) or frees it. */
static void recycle(struct job **done, struct job *j)
{
    if (j->cap > JOB_RECYCLE_MAX) {
        free(j);
        return;
    }
    j->next = *done;
    *done = j;
}

static void *writer_main(void *arg)
{
    struct corpus *c = arg;
    struct corpus_async *a = c->aq;
    char err[RP_ERRLEN];
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->head && !a->stop) {
            /* Idle with an open batch: commit it when its second is up. */
            if (!a->hold && !a->err && !sqlite3_get_autocommit(c->db)) {
                int64_t due = c->last_commit_us + COMMIT_EVERY_US;
                if (rp_mono_us() >= due) {
                    a->busy = 1;
                    pthread_mutex_unlock(&a->mu);
                    int r = corpus_commit(c, err);
                    pthread_mutex_lock(&a->mu);
                    a->busy = 0;
                    if (r)
                        set_err(a, r, err);
                    pthread_cond_broadcast(&a->idle);
                    continue;
                }
                struct timespec ts;
                deadline_after(due, &ts);
                pthread_cond_timedwait(&a->work, &a->mu, &ts);
            } else {
                pthread_cond_wait(&a->work, &a->mu);
            }
        }
        if (!a->head)
            break; /* stop requested and nothing left */
        struct job *list = a->head;
        a->head = a->tail = NULL;
        a->bytes = 0;
        a->busy = 1;
        int failed = a->err != 0;
        pthread_cond_broadcast(&a->space);
        pthread_mutex_unlock(&a->mu);

        int r = RP_OK;
        struct job *done = NULL;
        while (list) {
            struct job *j = list;
            /* CORPUS_EX_BATCH queued exchanges in a row go in one
             * multi-row insert. */
            const struct corpus_exchange *exs[CORPUS_EX_BATCH];
            int n = 0;
            for (struct job *k = j; k && k->kind == JOB_EXCHANGE &&
                                    n < CORPUS_EX_BATCH; k = k->next)
                exs[n++] = &k->u.ex;
            if (n == CORPUS_EX_BATCH) {
                struct job *k = j;
                for (int i = 0; i < n; i++, k = k->next)
                    map_exchange(a, &k->u.ex);
                if (!failed && !r)
                    r = corpus_write_exchanges(c, exs, n, 1, NULL, err);
                for (int i = 0; i < n; i++) {
                    struct job *next = list->next;
                    recycle(&done, list);
                    list = next;
                }
                continue;
            }
            list = j->next;
            if (!failed && !r)
                r = run_job(c, j, err);
            recycle(&done, j);
        }
        if (!failed && !r && rp_mono_us() - c->last_commit_us >=
                                 COMMIT_EVERY_US)
            r = corpus_commit(c, err);

        pthread_mutex_lock(&a->mu);
        /* Written jobs go back to the caller's thread for reuse, up to a
         * queue's worth: no malloc/free pair per row across threads. */
        while (done && a->done_bytes < QUEUE_MAX_BYTES) {
            struct job *next = done->next;
            done->next = a->done;
            a->done = done;
            a->done_bytes += sizeof *done + done->cap;
            done = next;
        }
        if (r)
            set_err(a, r, err);
        a->busy = 0;
        pthread_cond_broadcast(&a->idle);
        if (done) {
            pthread_mutex_unlock(&a->mu);
            free_list(done);
            pthread_mutex_lock(&a->mu);
        }
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static int max_id(struct corpus *c, const char *sql, int64_t *out, char *err)
{
    sqlite3_stmt *st;
    int r = corpus_prepare(c, sql, &st, err);
    if (r)
        return r;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        r = corpus_db_fail(c, rc, "reading the last row id", err);
    sqlite3_finalize(st);
    return r;
}

static int async_start(struct corpus *c, char *err)
{
    if (!c->writable)
        return rp_fail(err, RP_EINTERNAL, "%s: opened read-only", c->path);
    struct corpus_async *a = calloc(1, sizeof *a);
    if (!a)
        return rp_fail(err, RP_ENOMEM, "%s: out of memory", c->path);
    int r = max_id(c, "SELECT COALESCE(MAX(id), 0) FROM connections",
                   &a->next_conn_id, err);
    if (!r)
        r = max_id(c, "SELECT COALESCE(MAX(id), 0) FROM exchanges",
                   &a->next_ex_id, err);
    if (r) {
        free(a);
        return r;
    }
    a->next_conn_id++;
    a->next_ex_id++;
    /* A capture appends: the pages it needs again are the right edges of
     * a few B-trees, the rest wait for the commit and may as well wait in
     * the WAL (SQLite spills them there), so a smaller page cache costs
     * nothing (measured: same time at 8 and 64 MiB) and keeps capture's
     * memory near its --max-memory (the hostile fat-pipeline test). */
    int rc = sqlite3_exec(c->db, "PRAGMA cache_size = -8192", NULL, NULL,
                          NULL);
    if (rc != SQLITE_OK) {
        free(a);
        return corpus_db_fail(c, rc, "setting up the cache", err);
    }
    /* Without them, hash() falls back to rp_hash. */
    a->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    a->hctx = a->sha256 ? EVP_MD_CTX_new() : NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->work, &ca);
    pthread_cond_init(&a->space, NULL);
    pthread_cond_init(&a->idle, NULL);
    pthread_condattr_destroy(&ca);
    c->aq = a;
    /* Signals stay with the caller's thread (capture's SIGINT handling
     * expects to interrupt it), so the writer starts with all blocked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&a->thread, NULL, writer_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        c->aq = NULL;
        pthread_cond_destroy(&a->work);
        pthread_cond_destroy(&a->space);
        pthread_cond_destroy(&a->idle);
        pthread_mutex_destroy(&a->mu);
        EVP_MD_CTX_free(a->hctx);
        EVP_MD_free(a->sha256);
        free(a);
        return rp_fail(err, RP_ENOMEM, "%s: cannot start the writer thread",
                       c->path);
    }
    return RP_OK;
}

/* Drains the queue, stops the writer and returns its first error. */
static int async_stop(struct corpus *c, char *err)
{
    struct corpus_async *a = c->aq;
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_signal(&a->work);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    free_list(a->done);
    free_list(a->spare);
    free(a->seg_from);
    free(a->seg_delta);
    EVP_MD_CTX_free(a->hctx);
    EVP_MD_free(a->sha256);
    int r = a->err;
    if (r)
        rp_fail(err, r, "%s", a->errmsg);
    pthread_cond_destroy(&a->work);
    pthread_cond_destroy(&a->space);
    pthread_cond_destroy(&a->idle);
    pthread_mutex_destroy(&a->mu);
    free(a);
    c->aq = NULL;
    return r;
}

int corpus_set_async(struct corpus *c, int on, char *err)
{
    if (on && !c->aq)
        return async_start(c, err);
    if (!on && c->aq)
        return async_stop(c, err);
    return RP_OK;
}

int corpus_async_hold(struct corpus *c, char *err)
{
    struct corpus_async *a = c->aq;
    pthread_mutex_lock(&a->mu);
    while (a->head || a->busy)
        pthread_cond_wait(&a->idle, &a->mu);
    a->hold = 1;
    int r = a->err;
    if (r)
        rp_fail(err, r, "%s", a->errmsg);
    pthread_mutex_unlock(&a->mu);
    return r;
}

void corpus_async_release(struct corpus *c, int r, const char *msg)
{
    struct corpus_async *a = c->aq;
    pthread_mutex_lock(&a->mu);
    a->hold = 0;
    if (r)
        set_err(a, r, msg);
    pthread_cond_signal(&a->work); /* re-arms the idle commit timer */
    pthread_mutex_unlock(&a->mu);
}

/* Queues j (size bytes); waits while the queue is full. */
static int enqueue(struct corpus *c, struct job *j, char *err)
{
    struct corpus_async *a = c->aq;
    pthread_mutex_lock(&a->mu);
    size_t size = sizeof *j + j->cap;
    while (!a->err && a->head && a->bytes + size > QUEUE_MAX_BYTES)
        pthread_cond_wait(&a->space, &a->mu);
    int r = a->err;
    if (r) {
        rp_fail(err, r, "%s", a->errmsg);
        pthread_mutex_unlock(&a->mu);
        free(j);
        return r;
    }
    j->next = NULL;
    if (a->tail)
        a->tail->next = j;
    else
        a->head = j;
    a->tail = j;
    a->bytes += size;
    if (!a->spare && a->done) { /* take the written jobs back for reuse */
        a->spare = a->done;
        a->done = NULL;
        a->done_bytes = 0;
    }
    if (!a->busy)
        pthread_cond_signal(&a->work);
    pthread_mutex_unlock(&a->mu);
    return RP_OK;
}

/* Queues j, which adds a row: it gets the id *next_id (handed to the caller
 * in *out_id when not NULL), and *next_id moves on once it is queued. */
static int enqueue_row(struct corpus *c, struct job *j, int64_t *next_id,
                       int64_t *out_id, char *err)
{
    int64_t id = j->id = *next_id; /* j is the writer's once queued */
    int r = enqueue(c, j, err);
    if (r)
        return r;
    ++*next_id;
    if (out_id)
        *out_id = id;
    return RP_OK;
}

static struct job *job_new(struct corpus *c, enum job_kind kind, size_t extra,
                           char *err)
{
    struct corpus_async *a = c->aq;
    struct job *j = a->spare;
    if (j) {
        a->spare = j->next;
        if (j->cap < extra) {
            free(j);
            j = NULL;
        }
    }
    if (!j) {
        size_t cap = extra > JOB_MIN_CAP ? extra : JOB_MIN_CAP;
        if (!(j = malloc(sizeof *j + cap))) {
            rp_fail(err, RP_ENOMEM, "%s: out of memory queueing a write",
                    c->path);
            return NULL;
        }
        j->cap = cap;
    }
    size_t cap = j->cap;
    memset(j, 0, sizeof *j);
    j->kind = kind;
    j->cap = cap;
    return j;
}

/* Copies n bytes of s to *p (advancing it); returns the copy. NULL stays
 * NULL. With nul, a terminating NUL is added. */
static const char *put(char **p, const void *s, size_t n, int nul)
{
    if (!s)
        return NULL;
    char *d = *p;
    if (n)
        memcpy(d, s, n);
    if (nul)
        d[n] = '\0';
    *p += n + (nul ? 1 : 0);
    return d;
}

static size_t str_len(const char *s) { return s ? strlen(s) + 1 : 0; }

int corpus_async_add_connection(struct corpus *c,
                                const struct corpus_conn *cn,
                                int64_t *conn_id, char *err)
{
    size_t la = str_len(cn->client_addr), lb = str_len(cn->server_addr);
    struct job *j = job_new(c, JOB_CONN, la + lb, err);
    if (!j)
        return RP_ENOMEM;
    char *p = j->data;
    j->u.conn = *cn;
    j->u.conn.client_addr = put(&p, cn->client_addr, la ? la - 1 : 0, 1);
    j->u.conn.server_addr = put(&p, cn->server_addr, lb ? lb - 1 : 0, 1);
    return enqueue_row(c, j, &c->aq->next_conn_id, conn_id, err);
}

int corpus_async_connection_end(struct corpus *c, int64_t conn_id,
                                int64_t last_us, char *err)
{
    struct job *j = job_new(c, JOB_CONN_END, 0, err);
    if (!j)
        return RP_ENOMEM;
    j->id = conn_id;
    j->last_us = last_us;
    return enqueue(c, j, err);
}

static size_t msg_len(const struct corpus_msg *m)
{
    return (m->headers ? m->headers_len + 1 : 0) +
           (m->body ? m->body_len : 0);
}

/* rp_hash (the first RP_HASH_LEN bytes of SHA-256) with a context that is
 * reused: allocating and freeing one per body was most of the hashing cost
 * of small bodies. */
static void hash(struct corpus_async *a, const void *data, size_t len,
                 uint8_t out[RP_HASH_LEN])
{
    struct hash_memo *m = NULL;
    if (len <= MEMO_MAX_BYTES) {
        const uint8_t *b = data;
        uint64_t k = len * 0x9e3779b97f4a7c15ULL; /* picks the slot only */
        for (size_t i = 0; i < len; i += 1 + len / 16)
            k = (k ^ b[i]) * 0x100000001b3ULL;
        m = &a->memo[(k >> 32) % MEMO_SLOTS];
        if (m->len == len && !memcmp(m->data, data, len)) {
            memcpy(out, m->hash, RP_HASH_LEN);
            return;
        }
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (a->hctx && EVP_DigestInit_ex2(a->hctx, a->sha256, NULL) &&
        EVP_DigestUpdate(a->hctx, data, len) &&
        EVP_DigestFinal_ex(a->hctx, md, &mdlen) && mdlen >= RP_HASH_LEN)
        memcpy(out, md, RP_HASH_LEN);
    else
        rp_hash(data, len, out);
    if (m) {
        m->len = len;
        memcpy(m->data, data, len);
        memcpy(m->hash, out, RP_HASH_LEN);
    }
}

/* Copies a message; the body is hashed here, on the caller's thread, which
 * has less to do than the writer. */
static void msg_copy(struct corpus_async *a, char **p, struct corpus_msg *d,
                     const struct corpus_msg *s)
{
    *d = *s;
    d->headers = put(p, s->headers, s->headers_len, 1);
    d->body = (const uint8_t *)put(p, s->body, s->body_len, 0);
    if (s->body && s->body_len)
        hash(a, s->body, s->body_len, d->body_hash);
}

int corpus_async_add_exchange(struct corpus *c,
                              const struct corpus_exchange *ex,
                              int64_t *ex_id, char *err)
{
    size_t lm = str_len(ex->method), lt = str_len(ex->target),
           lh = str_len(ex->host), lv = str_len(ex->version),
           lr = str_len(ex->reason), li = str_len(ex->interim),
           ll = str_len(ex->request_line);
    size_t extra = lm + lt + lh + lv + lr + li + ll + msg_len(&ex->req) +
                   msg_len(&ex->resp);
    struct job *j = job_new(c, JOB_EXCHANGE, extra, err);
    if (!j)
        return RP_ENOMEM;
    char *p = j->data;
    struct corpus_exchange *d = &j->u.ex;
    *d = *ex;
    d->method = put(&p, ex->method, lm ? lm - 1 : 0, 1);
    d->target = put(&p, ex->target, lt ? lt - 1 : 0, 1);
    d->host = put(&p, ex->host, lh ? lh - 1 : 0, 1);
    d->version = put(&p, ex->version, lv ? lv - 1 : 0, 1);
    d->reason = put(&p, ex->reason, lr ? lr - 1 : 0, 1);
    d->interim = put(&p, ex->interim, li ? li - 1 : 0, 1);
    d->request_line = put(&p, ex->request_line, ll ? ll - 1 : 0, 1);
    msg_copy(c->aq, &p, &d->req, &ex->req);
    msg_copy(c->aq, &p, &d->resp, &ex->resp);
    return enqueue_row(c, j, &c->aq->next_ex_id, ex_id, err);
}

/* ---- the public write API ----------------------------------------------- */

/* Leaves async mode: the write that follows uses the connection itself. */
static int sync_mode(struct corpus *c, char *err)
{
    return c->aq ? corpus_set_async(c, 0, err) : RP_OK;
}

int corpus_capture_begin(struct corpus *c, const struct corpus_capture_info *ci,
                         int64_t *capture_id, char *err)
{
    int r = sync_mode(c, err);
    return r ? r : corpus_write_capture_begin(c, ci, capture_id, err);
}

int corpus_capture_end(struct corpus *c, int64_t capture_id,
                       const struct corpus_capture_stats *st, char *err)
{
    int r = sync_mode(c, err);
    return r ? r : corpus_write_capture_end(c, capture_id, st, err);
}

int corpus_add_connection(struct corpus *c, const struct corpus_conn *cn,
                          int64_t *conn_id, char *err)
{
    if (c->aq)
        return corpus_async_add_connection(c, cn, conn_id, err);
    int r = corpus_write_connection(c, cn, conn_id, err);
    return r ? r : corpus_tx_maybe_commit(c, err);
}

int corpus_connection_end(struct corpus *c, int64_t conn_id, int64_t last_us,
                          char *err)
{
    if (c->aq)
        return corpus_async_connection_end(c, conn_id, last_us, err);
    int r = corpus_write_connection_end(c, conn_id, last_us, err);
    return r ? r : corpus_tx_maybe_commit(c, err);
}

int corpus_add_exchange(struct corpus *c, const struct corpus_exchange *ex,
                        int64_t *ex_id, char *err)
{
    if (c->aq)
        return corpus_async_add_exchange(c, ex, ex_id, err);
    int r = corpus_write_exchanges(c, &ex, 1, 0, ex_id, err);
    return r ? r : corpus_tx_maybe_commit(c, err);
}

int corpus_run_begin(struct corpus *c, const struct corpus_run_info *ri,
                     int64_t *run_id, char *err)
{
    int r = sync_mode(c, err);
    return r ? r : corpus_write_run_begin(c, ri, run_id, err);
}

int corpus_add_results(struct corpus *c, int64_t run_id,
                       const struct corpus_result *res, size_t n,
                       size_t *added, char *err)
{
    int r = sync_mode(c, err);
    if (r) {
        if (added)
            *added = 0;
        return r;
    }
    return corpus_write_results(c, run_id, res, n, added, err);
}

int corpus_add_result(struct corpus *c, int64_t run_id,
                      const struct corpus_result *res, char *err)
{
    return corpus_add_results(c, run_id, res, 1, NULL, err);
}

int corpus_run_end(struct corpus *c, int64_t run_id, int64_t ended_us,
                   const char *status, const char *summary_json, char *err)
{
    int r = sync_mode(c, err);
    return r ? r : corpus_write_run_end(c, run_id, ended_us, status,
                                        summary_json, err);
}
