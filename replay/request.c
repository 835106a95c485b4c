/*
 * request.c: prepared requests. The feeder turns each selected exchange
 * into one struct rp_rq, shared by its --scale copies and loops: the body
 * read from the corpus as stored, the head shaped once (replay_shape_head: the
 * captured bytes with the user's edits), and the transport's own form built
 * from those (its prepare), so nothing is rebuilt per request on the
 * engines' hot path.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/http_parse.h"
#include "replay/replay_int.h"
#include "replay/transport.h"

int replay_rq_dechunk(const uint8_t *p, size_t n, uint8_t **out,
                      size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (!n)
        return 0;
    if (!(*out = malloc(n)))
        return RP_ENOMEM;
    *out_len = http_dechunk(p, n, *out);
    return 0;
}

int replay_rq_build(struct rp_ctx *c, const struct corpus_exchange *ex,
                    int pipelined, struct rp_rq **out, char *err)
{
    struct rp_rq *rq = calloc(1, sizeof *rq);
    struct rp_buf head;
    int rc = 0, red = 0;
    rp_buf_init(&head, 0);
    if (!rq)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    atomic_init(&rq->refs, 1);
    rq->ex_id = ex->id;
    rq->conn_id = replay_skey_sess(c, ex->conn_id); /* its session */
    rq->cap_status = ex->status;
    rq->lk = c->corr_on ? replay_links_of(c->links, ex->id) : NULL;
    if ((rq->lk && rq->lk->nout) || c->o->nextracts || c->o->script)
        rq->flags |= RQ_WANT_RESP;
    rq->t_us = ex->req.first_us;
    if (pipelined)
        rq->flags |= RQ_PIPELINED;
    if (ex->flags & (CORPUS_EX_REQ_TRUNCATED | CORPUS_EX_REQ_INCOMPLETE))
        rq->flags |= RQ_BODY_PARTIAL;
    if (ex->flags & CORPUS_EX_REQ_CHUNKED)
        rq->flags |= RQ_BODY_WIRE;
    if (c->o->store_bodies != RP_STORE_NONE) {
        if (replay_store_sampled(c, ex))
            rq->flags |= RQ_STORE_SAMPLE;
        if (ex->resp.has_body && !(ex->flags & (CORPUS_EX_RESP_TRUNCATED |
                                                CORPUS_EX_RESP_INCOMPLETE))) {
            memcpy(rq->cap_hash, ex->resp.body_hash, RP_HASH_LEN);
            rq->has_cap_hash = 1;
        }
        /* the transport keeps the response only when it may be stored:
         * copying every body costs the engines */
        if (c->o->store_bodies == RP_STORE_ALL || rq->has_cap_hash ||
            (rq->flags & RQ_STORE_SAMPLE))
            rq->flags |= RQ_WANT_RESP;
    }
    rq->cap_resp_bytes = (int64_t)ex->resp.wire_bytes;
    if (c->o->wire) { /* the client's bytes, as captured (tp_wire.c) */
        rq->method = strdup(ex->method ? ex->method : "");
        rq->target = strdup(ex->target ? ex->target : "");
        if (!rq->method || !rq->target) {
            rc = rp_fail(err, RP_ENOMEM, "out of memory");
            goto done;
        }
        if (ex->req.has_body && ex->req.body_len > 0 &&
            (rc = corpus_body_get(c->rd, ex->req.body_hash, &rq->body,
                                  &rq->body_len, err)))
            goto done;
        goto prepared;
    }
    rq->method = strdup(ex->method && *ex->method ? ex->method : "GET");
    rq->target = replay_shape_rewrite_apply(
        c->o, ex->target && *ex->target ? ex->target : "/");
    if (!rq->method || !rq->target) {
        rc = rp_fail(err, RP_ENOMEM, "out of memory");
        goto done;
    }
    if (ex->req.has_body && ex->req.body_len > 0) {
        rc = corpus_body_get(c->rd, ex->req.body_hash, &rq->body,
                             &rq->body_len, err);
        if (rc)
            goto done;
    }
    if (replay_shape_head(c->o, rq->method, rq->target, ex->version,
                          ex->req.headers, ex->req.headers_len, &head, &red)) {
        rc = rp_fail(err, RP_ENOMEM, "out of memory building a request head");
        goto done;
    }
    rq->head = head.data;
    rq->head_len = head.len;
    head.data = NULL;
    if (replay_corr_rewrites(c, rq)) { /* rebuilt per session (corr.c) */
        rq->version = strdup(ex->version ? ex->version : "");
        if (ex->req.headers_len &&
            (rq->cap_hdrs = malloc(ex->req.headers_len)))
            memcpy(rq->cap_hdrs, ex->req.headers, ex->req.headers_len);
        rq->cap_hdrs_len = rq->cap_hdrs ? ex->req.headers_len : 0;
        if (!rq->version || (ex->req.headers_len && !rq->cap_hdrs)) {
            rc = rp_fail(err, RP_ENOMEM, "out of memory");
            goto done;
        }
    }
    rq->redacted = red;
    /* a request rebuilt per session counts what its rebuilt head leaves
     * out (corr.c): correlation puts most of them back */
    if (red && !replay_corr_rewrites(c, rq))
        atomic_fetch_add(&c->redacted_dropped, (uint64_t)red);
    if (rq->flags & RQ_BODY_PARTIAL)
        atomic_fetch_add(&c->partial_bodies, 1);
prepared:
    rq->endpoint = c->live ? replay_live_endpoint(c->live, rq->method,
                                                  rq->target)
                           : -1;
    if (c->tp->prepare && (rc = c->tp->prepare(c->o, rq, err)))
        goto done;
done:
    rp_buf_cleanup(&head);
    if (rc) {
        replay_rq_unref(rq);
        rq = NULL;
    }
    *out = rq;
    return rc;
}
