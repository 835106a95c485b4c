/*
 * an_load.c: streams samples from the corpus into per-group accumulators.
 * The baseline and the candidate are read together as a merge join on
 * (exchange id, copy) -- both cursors are ordered that way -- so the
 * correctness diff (status and body hash per exchange) needs no index and
 * no memory beyond the current pair. Memory is bounded by the number of
 * groups (a few KiB of histogram each plus at most AN_MW_MAX kept values
 * per side) and by the timeline, which widens its buckets instead of
 * growing past AN_MAX_TICKS.
 */
#include "analyze/an_priv.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void side_cleanup(struct an_side *s)
{
    rp_hist_free(s->lat);
    rp_hist_free(s->svc);
    rp_hist_free(s->ttfb);
    an_reservoir_cleanup(&s->res);
}

/* The noise side is only allocated when there is a noise run. */
static int group_init(struct an_group *g, const char *key, int sides)
{
    memset(g, 0, sizeof *g);
    g->key = strdup(key);
    if (!g->key)
        return RP_ENOMEM;
    for (int i = 0; i < sides; i++) {
        struct an_side *s = &g->side[i];
        s->lat = rp_hist_new();
        s->svc = rp_hist_new();
        s->ttfb = rp_hist_new();
        an_reservoir_init(&s->res, AN_MW_MAX);
        if (!s->lat || !s->svc || !s->ttfb)
            return RP_ENOMEM;
    }
    return 0;
}

static void group_cleanup(struct an_group *g)
{
    free(g->key);
    for (int i = 0; i < AN_NSIDES; i++)
        side_cleanup(&g->side[i]);
    an_gstep_free(g);
    an_fields_free(g);
}

void an_analysis_init(struct an_analysis *a, struct an_opts *o)
{
    memset(a, 0, sizeof *a);
    a->o = o;
    a->tl[AN_BASE].tick_us = a->tl[AN_CAND].tick_us = 1000000;
}

void an_analysis_cleanup(struct an_analysis *a)
{
    for (size_t i = 0; i < a->ngroups; i++) {
        group_cleanup(a->groups[i]);
        free(a->groups[i]);
    }
    free(a->groups);
    free(a->slot);
    group_cleanup(&a->all);
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < a->tl[k].nticks; i++)
            rp_hist_free(a->tl[k].tick[i].lat);
        free(a->tl[k].tick);
    }
    for (int i = 0; i < AN_NSIDES; i++) {
        rp_hist_free(a->set[i].lateness);
        an_capacity_free(a->set[i].cap);
    }
    an_fwork_free(a);
    free(a->order);
    free(a->fail);
    memset(a, 0, sizeof *a);
}

static int rehash(struct an_analysis *a, size_t nslots)
{
    uint32_t *slot = calloc(nslots, sizeof *slot);
    if (!slot)
        return RP_ENOMEM;
    for (size_t i = 0; i < a->ngroups; i++) {
        size_t k = hash_str(a->groups[i]->key) & (nslots - 1);
        while (slot[k])
            k = (k + 1) & (nslots - 1);
        slot[k] = (uint32_t)(i + 1);
    }
    free(a->slot);
    a->slot = slot;
    a->nslots = nslots;
    return 0;
}

/* Finds or creates the group for key; NULL when out of memory. Past the
 * group cap, a key not seen yet goes to "(other)"; keys seen before keep
 * their groups, whichever side saw them first. */
static struct an_group *group_get(struct an_analysis *a, const char *key)
{
    if (a->nslots == 0 && rehash(a, 1024))
        return NULL;
    uint64_t h = hash_str(key);
    size_t k = h & (a->nslots - 1);
    while (a->slot[k]) {
        struct an_group *g = a->groups[a->slot[k] - 1];
        if (!strcmp(g->key, key))
            return g;
        k = (k + 1) & (a->nslots - 1);
    }
    if (a->ngroups >= AN_MAX_GROUPS - 1 && strcmp(key, "(other)")) {
        if (!a->groups_capped++)
            rp_warn("analyze: more than %d groups; the rest are counted as "
                    "'(other)' (use --template to merge endpoints)",
                    AN_MAX_GROUPS - 1);
        return group_get(a, "(other)");
    }
    if (a->ngroups == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        struct an_group **ng = realloc(a->groups, cap * sizeof *ng);
        if (!ng)
            return NULL;
        a->groups = ng;
        a->cap = cap;
    }
    struct an_group *g = malloc(sizeof *g);
    if (!g)
        return NULL;
    if (group_init(g, key, a->set[AN_NOISE].present ? AN_NSIDES : 2)) {
        group_cleanup(g);
        free(g);
        return NULL;
    }
    a->groups[a->ngroups++] = g;
    if (a->ngroups * 2 > a->nslots) {
        if (rehash(a, a->nslots * 2))
            return NULL;
    } else {
        a->slot[k] = (uint32_t)a->ngroups;
    }
    return g;
}

static int is_error(const struct corpus_sample *s)
{
    return s->error_class != CORPUS_ERR_NONE || s->status <= 0 ||
           s->status >= 500;
}

static int has_timing(const struct corpus_sample *s)
{
    return s->error_class == CORPUS_ERR_NONE && s->status > 0 &&
           s->latency_us >= 0;
}

static void group_key(const struct an_analysis *a,
                      const struct corpus_sample *s, char *key)
{
    switch (a->o->group_by) {
    case AN_BY_ENDPOINT:
        http_endpoint(a->o->tmpl, s->method, s->target, key, AN_KEYLEN);
        break;
    case AN_BY_HOST:
        snprintf(key, AN_KEYLEN, "%s",
                 s->host && *s->host ? s->host : "(no host)");
        break;
    case AN_BY_STATUS:
        if (s->error_class != CORPUS_ERR_NONE)
            snprintf(key, AN_KEYLEN, "error:%s",
                     corpus_errclass_name(s->error_class));
        else if (s->status <= 0)
            snprintf(key, AN_KEYLEN, "no-response");
        else
            snprintf(key, AN_KEYLEN, "%d", s->status);
        break;
    case AN_BY_NONE:
        snprintf(key, AN_KEYLEN, "all");
        break;
    }
}

int an_status_key(const struct corpus_sample *s)
{
    if (s->error_class != CORPUS_ERR_NONE)
        return -(int)s->error_class;
    return s->status >= 100 && s->status < 600 ? s->status : 0;
}

static void codes_add(struct an_codes *c, int key)
{
    for (int i = 0; i < c->len; i++)
        if (c->key[i] == key) {
            c->n[i]++;
            return;
        }
    if (c->len == AN_MAX_CODES) {
        c->other++;
        return;
    }
    c->key[c->len] = key;
    c->n[c->len++] = 1;
}

static int side_add(struct an_side *d, const struct corpus_sample *s,
                    int64_t metric_us)
{
    d->count++;
    if (is_error(s))
        d->errors++;
    int cls = s->status >= 100 && s->status < 600 ? s->status / 100 : 0;
    d->status_class[cls]++;
    codes_add(&d->codes, an_status_key(s));
    if ((unsigned)s->error_class < CORPUS_ERR__COUNT)
        d->errclass[s->error_class]++;
    if (!has_timing(s))
        return 0;
    int rc = rp_hist_record(d->lat, metric_us);
    if (!rc && s->service_us >= 0)
        rc = rp_hist_record(d->svc, s->service_us);
    if (!rc && s->ttfb_us >= 0)
        rc = rp_hist_record(d->ttfb, s->ttfb_us);
    if (!rc)
        rc = an_reservoir_add(&d->res, metric_us);
    return rc;
}

static struct an_tick *tick_at(struct an_timeline *a, int64_t t_us)
{
    if (t_us < 0)
        t_us = 0;
    size_t i = (size_t)(t_us / a->tick_us);
    while (i >= AN_MAX_TICKS) {
        /* widen: merge pairs of buckets */
        for (size_t j = 0; j < a->nticks; j++) {
            struct an_tick *dst = &a->tick[j / 2], *src = &a->tick[j];
            if (j % 2 == 0) {
                if (dst != src) {
                    *dst = *src;
                    src->lat = NULL;
                }
                continue;
            }
            dst->due += src->due;
            dst->sent += src->sent;
            dst->done += src->done;
            dst->lat_sum_us += src->lat_sum_us;
            dst->errors += src->errors;
            if (src->lat) {
                if (!dst->lat) {
                    dst->lat = src->lat;
                } else {
                    if (rp_hist_merge(dst->lat, src->lat))
                        return NULL;
                    rp_hist_free(src->lat);
                }
                src->lat = NULL;
            }
        }
        size_t keep = (a->nticks + 1) / 2;
        for (size_t j = keep; j < a->nticks; j++)
            memset(&a->tick[j], 0, sizeof a->tick[j]);
        a->nticks = keep;
        a->tick_us *= 2;
        i = (size_t)(t_us / a->tick_us);
    }
    if (i >= a->tick_cap) {
        size_t cap = a->tick_cap ? a->tick_cap : 64;
        while (cap <= i)
            cap *= 2;
        if (cap > AN_MAX_TICKS)
            cap = AN_MAX_TICKS;
        struct an_tick *nt = realloc(a->tick, cap * sizeof *nt);
        if (!nt)
            return NULL;
        memset(nt + a->tick_cap, 0, (cap - a->tick_cap) * sizeof *nt);
        a->tick = nt;
        a->tick_cap = cap;
    }
    if (i >= a->nticks)
        a->nticks = i + 1;
    return &a->tick[i];
}

static int timeline_add(struct an_timeline *a, const struct corpus_sample *s,
                        int64_t metric_us)
{
    struct an_tick *t = tick_at(a, s->t_us);
    if (!t)
        return RP_ENOMEM;
    t->due++;
    if (is_error(s))
        t->errors++;
    if (has_timing(s)) {
        if (!t->lat && !(t->lat = rp_hist_new()))
            return RP_ENOMEM;
        if (rp_hist_record(t->lat, metric_us))
            return RP_ENOMEM;
    }
    /* sent: when it reached the target (due + lateness) */
    if (s->latency_us >= 0 && s->service_us >= 0 &&
        s->latency_us >= s->service_us) {
        struct an_tick *x = tick_at(a, s->t_us + s->latency_us -
                                           s->service_us);
        if (!x)
            return RP_ENOMEM;
        x->sent++;
    }
    /* a failed request is done when it failed: it no longer waits on the
     * target, and a backlog of them must not read as saturation */
    if (s->latency_us >= 0) {
        struct an_tick *d = tick_at(a, s->t_us + s->latency_us);
        if (!d)
            return RP_ENOMEM;
        d->done++;
        d->lat_sum_us += (double)s->latency_us;
    }
    return 0;
}

static void slow_add(struct an_analysis *a, const struct corpus_sample *s,
                     int64_t metric_us, const char *key)
{
    int at;
    if (a->nslow < AN_MAX_SLOW) {
        at = a->nslow++;
    } else {
        at = 0;
        for (int i = 1; i < a->nslow; i++)
            if (a->slow[i].latency_us < a->slow[at].latency_us)
                at = i;
        if (a->slow[at].latency_us >= metric_us)
            return;
    }
    struct an_slow *w = &a->slow[at];
    w->exchange_id = s->exchange_id;
    w->copy = s->copy;
    w->loop = s->loop;
    w->latency_us = metric_us;
    w->status = s->status;
    snprintf(w->endpoint, sizeof w->endpoint, "%s", key);
}

static void msg_add(struct an_set *set, const struct corpus_sample *s)
{
    char text[AN_MSGLEN];
    rp_errmsg_normalize(s->error ? s->error : "", text, sizeof text);
    for (int i = 0; i < set->nmsg; i++)
        if (set->msg[i].cls == s->error_class &&
            !strcmp(set->msg[i].text, text)) {
            set->msg[i].count++;
            return;
        }
    if (set->nmsg == AN_MAX_MSGS) {
        set->msg_other++;
        return;
    }
    struct an_msg *m = &set->msg[set->nmsg++];
    m->cls = s->error_class;
    snprintf(m->text, sizeof m->text, "%s", text);
    m->count = 1;
}

/* Records one sample of side `which`; *gout receives its group. */
static int record(struct an_analysis *a, int which,
                  const struct corpus_sample *s, struct an_group **gout)
{
    struct an_set *set = &a->set[which];
    *gout = NULL;
    set->samples++;
    if (s->error_class == CORPUS_ERR_NOT_SENT) {
        set->not_sent++;
        return 0;
    }
    /* Copies of one exchange are adjacent and share method and target, so
     * the group of the last exchange is reused unless it depends on the
     * status. */
    struct an_group *g;
    if (a->o->group_by != AN_BY_STATUS && a->last_group &&
        a->last_ex_id == s->exchange_id) {
        g = a->last_group;
    } else {
        char key[AN_KEYLEN];
        group_key(a, s, key);
        if (!(g = group_get(a, key)))
            return RP_ENOMEM;
        a->last_group = g;
        a->last_ex_id = s->exchange_id;
    }
    const char *key = g->key;
    *gout = g;
    if (set->cap && an_capacity_add(a, which, g, s))
        return RP_ENOMEM;
    if (an_fields_note(a, which == AN_CAND ? AN_CAND + 10 : which, g, s))
        return RP_ENOMEM;
    if (s->t_us < a->o->warmup_us) { /* still diffed for correctness */
        set->warmup++;
        return 0;
    }
    int64_t m = a->o->metric == AN_METRIC_SERVICE && s->service_us >= 0
                    ? s->service_us : s->latency_us;
    if (side_add(&g->side[which], s, m) || side_add(&a->all.side[which], s, m))
        return RP_ENOMEM;
    if (s->error_class != CORPUS_ERR_NONE)
        msg_add(set, s);
    int64_t end = s->t_us + (s->latency_us > 0 ? s->latency_us : 0);
    int first = set->samples - set->not_sent - set->warmup == 1;
    if (first || s->t_us < set->t_first_us)
        set->t_first_us = s->t_us;
    if (first || end > set->t_last_us)
        set->t_last_us = end;
    if (set->kind == CORPUS_SET_RUN && has_timing(s) && s->service_us >= 0 &&
        s->latency_us >= s->service_us) {
        if (!set->lateness && !(set->lateness = rp_hist_new()))
            return RP_ENOMEM;
        /* the generator's lateness: a session's wait for its previous
         * answer is the target's (corpus_sample.held_us) */
        int64_t late = s->latency_us - s->service_us - s->held_us;
        if (rp_hist_record(set->lateness, late > 0 ? late : 0))
            return RP_ENOMEM;
    }
    if (which != AN_NOISE && timeline_add(&a->tl[which], s, m))
        return RP_ENOMEM;
    if (which == AN_CAND && has_timing(s))
        slow_add(a, s, m, key);
    return 0;
}

static void add_example(int64_t *ex, int *n, int64_t id)
{
    if (*n < AN_MAX_EXAMPLES)
        ex[(*n)++] = id;
}

static void trans_add(struct an_group *g, int from, int to, int64_t id)
{
    for (int i = 0; i < g->ntrans; i++) {
        struct an_trans *t = &g->trans[i];
        if (t->from == from && t->to == to) {
            t->count++;
            add_example(t->ex, &t->nex, id);
            return;
        }
    }
    if (g->ntrans == AN_MAX_TRANS) {
        g->trans_other++;
        return;
    }
    struct an_trans *t = &g->trans[g->ntrans++];
    memset(t, 0, sizeof *t);
    t->from = from;
    t->to = to;
    t->count = 1;
    add_example(t->ex, &t->nex, id);
}

static void diff_one(struct an_group *g, const struct corpus_sample *b,
                     const struct corpus_sample *c)
{
    g->compared++;
    int kb = an_status_key(b), kc = an_status_key(c);
    if (kb != kc) {
        g->status_changed++;
        add_example(g->status_ex, &g->n_status_ex, c->exchange_id);
        trans_add(g, kb, kc, c->exchange_id);
    } else if (b->has_body_hash && c->has_body_hash) {
        g->body_compared++;
        if (memcmp(b->body_hash, c->body_hash, RP_HASH_LEN)) {
            g->body_changed++;
            add_example(g->body_ex, &g->n_body_ex, c->exchange_id);
        }
    }
}

/* Compares the candidate's sample c with the baseline's b of the same
 * exchange, in its group g and over all requests. */
static void diff(struct an_analysis *a, struct an_group *g,
                 const struct corpus_sample *b, const struct corpus_sample *c)
{
    if (!g || b->error_class == CORPUS_ERR_NOT_SENT)
        return;
    diff_one(g, b, c);
    diff_one(&a->all, b, c);
    if (b->has_response && c->has_response &&
        b->error_class == CORPUS_ERR_NONE)
        a->field_rc = an_fields_note(a, AN_CAND, g, c);
}

/* Orders two runs' samples as their cursors do: loop, exchange, copy. */
static int key_cmp(const struct corpus_sample *b,
                   const struct corpus_sample *c)
{
    if (b->loop != c->loop)
        return b->loop < c->loop ? -1 : 1;
    if (b->exchange_id != c->exchange_id)
        return b->exchange_id < c->exchange_id ? -1 : 1;
    if (b->copy != c->copy)
        return b->copy < c->copy ? -1 : 1;
    return 0;
}

static int open_set(struct corpus *c, const struct an_set *s,
                    struct corpus_sample_cursor **cur, char *err)
{
    return corpus_samples_open(c, s->kind, s->id, cur, err);
}

/* Timeline buckets: one second, or for runs shorter than 100 s about a
 * hundredth of the run rounded up to 10/20/50 ms steps, so a short replay
 * still shows its shape. Long runs widen by doubling (tick_at). */
static int64_t tick_width(int64_t wall_us)
{
    static const int64_t nice[] = {10000, 20000, 50000, 100000, 200000,
                                   500000};
    if (wall_us <= 0 || wall_us >= 100000000)
        return 1000000;
    for (size_t i = 0; i < sizeof nice / sizeof nice[0]; i++)
        if (nice[i] * 100 >= wall_us)
            return nice[i];
    return 1000000;
}

/* Baseline and candidate are runs: a merge of the two cursors, pairing the
 * results of the same loop, exchange and copy. */
static int load_runs(struct an_analysis *a, struct corpus *c, char *err)
{
    struct corpus_sample_cursor *cb = NULL, *cc = NULL;
    struct corpus_sample sb, sc;
    struct an_group *g, *gb;
    int rc = open_set(c, &a->set[AN_BASE], &cb, err);
    if (!rc)
        rc = open_set(c, &a->set[AN_CAND], &cc, err);
    if (rc)
        goto done;
    int hb = corpus_samples_next(cb, &sb, err);
    int hc = hb < 0 ? hb : corpus_samples_next(cc, &sc, err);
    while (hb >= 0 && hc >= 0 && (hb > 0 || hc > 0)) {
        int k = hb > 0 && hc > 0 ? key_cmp(&sb, &sc) : hb > 0 ? -1 : 1;
        if (k <= 0 && (rc = record(a, AN_BASE, &sb, &gb)))
            goto done;
        if (k >= 0 && (rc = record(a, AN_CAND, &sc, &g)))
            goto done;
        if (k == 0)
            diff(a, g, &sb, &sc);
        if (k <= 0)
            hb = corpus_samples_next(cb, &sb, err);
        if (k >= 0 && hb >= 0)
            hc = corpus_samples_next(cc, &sc, err);
    }
    rc = hb < 0 ? hb : hc < 0 ? hc : 0;
done:
    corpus_samples_close(cb);
    corpus_samples_close(cc);
    return rc;
}

/* Moves the capture cursor to the first exchange at or past `upto`,
 * recording the samples it passes when `keep` (the first pass). */
static int base_advance(struct an_analysis *a,
                        struct corpus_sample_cursor *cb,
                        struct corpus_sample *sb, int *hb, int64_t upto,
                        int keep, char *err)
{
    struct an_group *g;
    while (*hb > 0 && sb->exchange_id < upto) {
        int rc = keep ? record(a, AN_BASE, sb, &g) : 0;
        if (rc)
            return rc;
        *hb = corpus_samples_next(cb, sb, err);
    }
    return *hb < 0 ? *hb : 0;
}

/* The baseline is a capture (each exchange once, in id order) and the
 * candidate a run (every loop in exchange order): the capture is read
 * beside each loop of the run to pair every result with its captured
 * exchange, and recorded during the first of those reads. */
static int load_capture_base(struct an_analysis *a, struct corpus *c,
                             char *err)
{
    struct corpus_sample_cursor *cb = NULL, *cc = NULL;
    struct corpus_sample sb, sc;
    struct an_group *g;
    int rc = open_set(c, &a->set[AN_BASE], &cb, err);
    if (!rc)
        rc = open_set(c, &a->set[AN_CAND], &cc, err);
    if (rc)
        goto done;
    int hb = corpus_samples_next(cb, &sb, err), hc = 0, first = 1, loop = -1;
    while (hb >= 0 && (hc = corpus_samples_next(cc, &sc, err)) > 0) {
        if (loop >= 0 && sc.loop != loop) { /* the capture from the start */
            if (first &&
                (rc = base_advance(a, cb, &sb, &hb, INT64_MAX, 1, err)))
                goto done;
            first = 0;
            corpus_samples_close(cb);
            cb = NULL;
            if ((rc = open_set(c, &a->set[AN_BASE], &cb, err)))
                goto done;
            hb = corpus_samples_next(cb, &sb, err);
        }
        loop = sc.loop;
        if ((rc = record(a, AN_CAND, &sc, &g)) ||
            (rc = base_advance(a, cb, &sb, &hb, sc.exchange_id, first, err)))
            goto done;
        if (hb > 0 && sb.exchange_id == sc.exchange_id)
            diff(a, g, &sb, &sc);
    }
    if (!(rc = hb < 0 ? hb : hc) && first) /* the capture's tail */
        rc = base_advance(a, cb, &sb, &hb, INT64_MAX, 1, err);
done:
    corpus_samples_close(cb);
    corpus_samples_close(cc);
    return rc;
}

static int load_noise(struct an_analysis *a, struct corpus *c, char *err)
{
    struct corpus_sample_cursor *cn = NULL;
    struct corpus_sample sn;
    struct an_group *g;
    int rc = open_set(c, &a->set[AN_NOISE], &cn, err);
    if (rc)
        return rc;
    while ((rc = corpus_samples_next(cn, &sn, err)) > 0)
        if ((rc = record(a, AN_NOISE, &sn, &g)))
            break;
    corpus_samples_close(cn);
    return rc;
}

int an_load(struct an_analysis *a, struct corpus *c, char *err)
{
    a->tl[AN_CAND].tick_us = tick_width(a->set[AN_CAND].wall_us);
    /* a run baseline by its own duration; a capture, played at --speed X,
     * spans X times the candidate's */
    const struct an_set *bs = &a->set[AN_BASE];
    double stretch = a->set[AN_CAND].speed > 0 ? a->set[AN_CAND].speed : 1;
    a->tl[AN_BASE].tick_us =
        bs->kind == CORPUS_SET_RUN ? tick_width(bs->wall_us)
        : tick_width((int64_t)((double)a->set[AN_CAND].wall_us * stretch));
    int rc = group_init(&a->all, "(all)", AN_NSIDES);
    if (!rc)
        rc = a->set[AN_BASE].kind == CORPUS_SET_RUN
                 ? load_runs(a, c, err) : load_capture_base(a, c, err);
    if (!rc && a->set[AN_NOISE].present)
        rc = load_noise(a, c, err);
    if (!rc && a->field_rc)
        rc = a->field_rc;
    if (rc == RP_ENOMEM)
        rc = rp_fail(err, RP_ENOMEM, "out of memory while analyzing %s",
                     a->o->db);
    return rc;
}
