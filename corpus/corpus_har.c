/*
 * corpus_har.c: `reprise export --format har`: a capture, or a run, as a
 * HAR 1.2 document that a browser's devtools or any HAR viewer opens.
 *
 * A capture's entry is its exchange: the request and response with their
 * headers as captured (redacted values stay redacted), stored bodies as
 * text (valid UTF-8) or base64, and the wire timings (send: request first
 * to last byte; wait: to the response's first byte; receive: to its last).
 * A run's entry is the captured request as replayed with the run's answer:
 * status, the body when the run stored it (by its hash), and the replay's
 * timings (blocked: the generator's lateness; send 0; wait: time to first
 * byte; receive: the rest of the service time). The URL's scheme is the
 * run's target's for a run, "http" for a capture (reprise records plain
 * HTTP). Bodies cut short at capture are exported as stored and said so in
 * the entry's "comment".
 */
#include "corpus/corpus_priv.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"

static void iso_time(int64_t us, char *out, size_t n)
{
    time_t s = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char b[32];
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03dZ", b, (int)(us % 1000000 / 1000));
}

static int jstr(struct rp_buf *b, const char *s)
{
    return rp_buf_json_str(b, s ? s : "", s ? strlen(s) : 0);
}

static int jstrn(struct rp_buf *b, const char *s, size_t n)
{
    return rp_buf_json_str(b, s ? s : "", s ? n : 0);
}

/* "[{"name":..,"value":..}...]" of raw header lines; the Content-Type
 * value into ctype (may be NULL). */
static int headers_json(struct rp_buf *b, const char *h, size_t len,
                        char *ctype, size_t cn)
{
    int rc = rp_buf_puts(b, "[");
    int first = 1;
    const char *p = h, *end = h ? h + len : NULL;
    if (ctype)
        ctype[0] = 0;
    while (!rc && p && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (colon && colon > p) {
            const char *v = colon + 1, *ve = le;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
                ve--;
            rc = rp_buf_puts(b, first ? "{\"name\":" : ",{\"name\":");
            first = 0;
            if (!rc)
                rc = jstrn(b, p, (size_t)(colon - p));
            if (!rc)
                rc = rp_buf_puts(b, ",\"value\":");
            if (!rc)
                rc = jstrn(b, v, (size_t)(ve - v));
            if (!rc)
                rc = rp_buf_puts(b, "}");
            if (ctype && (size_t)(colon - p) == 12 &&
                !strncasecmp(p, "content-type", 12))
                snprintf(ctype, cn, "%.*s", (int)(ve - v), v);
        }
        p = eol ? eol + 1 : end;
    }
    return rc ? rc : rp_buf_puts(b, "]");
}

static int query_json(struct rp_buf *b, const char *target)
{
    int rc = rp_buf_puts(b, "[");
    const char *q = target ? strchr(target, '?') : NULL;
    int first = 1;
    while (!rc && q && *q) {
        q++;
        const char *amp = strchr(q, '&');
        const char *e = amp ? amp : q + strlen(q);
        const char *eq = memchr(q, '=', (size_t)(e - q));
        if (e > q) {
            rc = rp_buf_puts(b, first ? "{\"name\":" : ",{\"name\":");
            first = 0;
            if (!rc)
                rc = jstrn(b, q, (size_t)((eq ? eq : e) - q));
            if (!rc)
                rc = rp_buf_puts(b, ",\"value\":");
            if (!rc)
                rc = eq ? jstrn(b, eq + 1, (size_t)(e - eq - 1))
                        : jstr(b, "");
            if (!rc)
                rc = rp_buf_puts(b, "}");
        }
        q = amp;
    }
    return rc ? rc : rp_buf_puts(b, "]");
}

static int utf8_text(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3
                                  : (c >> 3) == 30 ? 4 : 0;
        if (!k || (c < 0x80 && c < 0x20 && c != '\n' && c != '\r' &&
                   c != '\t') || i + k > n)
            return 0;
        for (size_t j = 1; j < k; j++)
            if ((p[i + j] & 0xC0) != 0x80)
                return 0;
        i += k;
    }
    return 1;
}

/* ,"text":...[,"encoding":"base64"] of a stored body, if there is one. */
static int body_json(struct corpus *c, struct rp_buf *b, const uint8_t *hash,
                     int has, char *err)
{
    if (!has)
        return 0;
    uint8_t *data = NULL;
    size_t n = 0;
    int r = corpus_body_get(c, hash, &data, &n, err);
    if (r == RP_EINPUT) /* not stored (a run that kept only hashes) */
        return 0;
    if (r)
        return r;
    if (utf8_text(data, n)) {
        r = rp_buf_puts(b, ",\"text\":");
        if (!r)
            r = jstrn(b, (const char *)data, n);
    } else {
        char *enc = malloc(4 * ((n + 2) / 3) + 1);
        if (!enc) {
            free(data);
            return rp_fail(err, RP_ENOMEM, "out of memory");
        }
        EVP_EncodeBlock((unsigned char *)enc, data, (int)n);
        r = rp_buf_printf(b, ",\"text\":\"%s\",\"encoding\":\"base64\"",
                          enc);
        free(enc);
    }
    free(data);
    return r ? rp_fail(err, RP_ENOMEM, "out of memory") : 0;
}

static double ms(int64_t us)
{
    return us > 0 ? (double)us / 1000.0 : 0;
}

static int exchange_entry(struct corpus *c, struct rp_buf *b,
                          const struct corpus_exchange *ex,
                          const char *scheme, int64_t start_us,
                          const int64_t t[4], int status,
                          const uint8_t *resp_hash, int resp_has,
                          const char *resp_headers, size_t resp_hlen,
                          uint64_t resp_size, const char *comment, char *err)
{
    char when[40], ctype[128], url_head[16];
    iso_time(start_us, when, sizeof when);
    int rc = rp_buf_printf(b, "{\"startedDateTime\":\"%s\",\"time\":%.3f,",
                           when, ms(t[0]) + ms(t[1]) + ms(t[2]) + ms(t[3]));
    /* request */
    snprintf(url_head, sizeof url_head, "%s://", scheme);
    struct rp_buf url;
    rp_buf_init(&url, 1 << 20);
    rc |= rp_buf_printf(&url, "%s%s%s", url_head,
                        ex->host && *ex->host ? ex->host : "unknown",
                        ex->target);
    rc |= rp_buf_puts(b, "\"request\":{\"method\":");
    rc |= jstr(b, ex->method);
    rc |= rp_buf_puts(b, ",\"url\":");
    rc |= jstrn(b, url.data, url.len);
    rp_buf_cleanup(&url);
    rc |= rp_buf_puts(b, ",\"httpVersion\":");
    rc |= jstr(b, ex->version);
    rc |= rp_buf_puts(b, ",\"cookies\":[],\"headers\":");
    rc |= headers_json(b, ex->req.headers, ex->req.headers_len, ctype,
                       sizeof ctype);
    rc |= rp_buf_puts(b, ",\"queryString\":");
    rc |= query_json(b, ex->target);
    if (ex->req.has_body) {
        rc |= rp_buf_puts(b, ",\"postData\":{\"mimeType\":");
        rc |= jstr(b, ctype);
        if (rc)
            return RP_ENOMEM;
        int r = body_json(c, b, ex->req.body_hash, 1, err);
        if (r)
            return r;
        rc |= rp_buf_puts(b, "}");
    }
    rc |= rp_buf_printf(b, ",\"headersSize\":-1,\"bodySize\":%llu},",
                        (unsigned long long)ex->req.body_size);
    /* response */
    rc |= rp_buf_printf(b, "\"response\":{\"status\":%d,\"statusText\":",
                        status);
    rc |= jstr(b, status == ex->status ? ex->reason : "");
    rc |= rp_buf_puts(b, ",\"httpVersion\":");
    rc |= jstr(b, ex->version);
    rc |= rp_buf_puts(b, ",\"cookies\":[],\"headers\":");
    rc |= headers_json(b, resp_headers, resp_hlen, ctype, sizeof ctype);
    rc |= rp_buf_puts(b, ",\"content\":{\"size\":");
    rc |= rp_buf_printf(b, "%llu,\"mimeType\":",
                        (unsigned long long)resp_size);
    rc |= jstr(b, ctype);
    if (rc)
        return RP_ENOMEM;
    int r = body_json(c, b, resp_hash, resp_has, err);
    if (r)
        return r;
    rc |= rp_buf_printf(b, "},\"redirectURL\":\"\",\"headersSize\":-1,"
                           "\"bodySize\":-1},\"cache\":{},\"timings\":{"
                           "\"blocked\":%.3f,\"send\":%.3f,\"wait\":%.3f,"
                           "\"receive\":%.3f},\"connection\":\"%lld\"",
                        ms(t[0]), ms(t[1]), ms(t[2]), ms(t[3]),
                        (long long)ex->conn_id);
    if (comment) {
        rc |= rp_buf_puts(b, ",\"comment\":");
        rc |= jstr(b, comment);
    }
    rc |= rp_buf_puts(b, "}");
    return rc ? RP_ENOMEM : 0;
}

static int begin_doc(FILE *out, const char *comment)
{
    fprintf(out, "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":"
                 "\"reprise\",\"version\":\"%s\"},\"pages\":[],\"comment\":",
            RP_VERSION);
    struct rp_buf b;
    rp_buf_init(&b, 1 << 16);
    jstr(&b, comment);
    fwrite(b.data, 1, b.len, out);
    rp_buf_cleanup(&b);
    return fputs(",\"entries\":[\n", out) < 0 ? RP_EIO : 0;
}

static int flush_entry(FILE *out, struct rp_buf *b, int *first)
{
    if (!*first && fputs(",\n", out) < 0)
        return RP_EIO;
    *first = 0;
    if (fwrite(b->data, 1, b->len, out) != b->len)
        return RP_EIO;
    rp_buf_reset(b);
    return 0;
}

int corpus_export_har(struct corpus *c, int64_t capture_id, FILE *out,
                      char *err)
{
    struct corpus_ex_cursor *cur;
    struct corpus_exchange ex;
    int r = corpus_ex_open(c, capture_id, &cur, err);
    if (r)
        return r;
    char what[96];
    snprintf(what, sizeof what, "capture %lld", (long long)capture_id);
    struct rp_buf b;
    rp_buf_init(&b, 256u << 20);
    int first = 1;
    r = begin_doc(out, what);
    while (!r && (r = corpus_ex_next(cur, &ex, err)) == 1) {
        int64_t t[4] = {0, ex.req.last_us - ex.req.first_us,
                        ex.status ? ex.resp.first_us - ex.req.last_us : 0,
                        ex.status ? ex.resp.last_us - ex.resp.first_us : 0};
        const char *note =
            ex.flags & (CORPUS_EX_REQ_TRUNCATED | CORPUS_EX_RESP_TRUNCATED)
                ? "a body longer than --max-body: stored (and exported) cut "
                  "short"
            : ex.flags & CORPUS_EX_REDACTED
                ? "secrets redacted at capture" : NULL;
        r = exchange_entry(c, &b, &ex, "http", ex.req.first_us, t,
                           ex.status, ex.resp.body_hash, ex.resp.has_body,
                           ex.resp.headers, ex.resp.headers_len,
                           ex.resp.body_size, note, err);
        if (r == RP_ENOMEM)
            r = rp_fail(err, RP_ENOMEM, "out of memory");
        if (!r)
            r = flush_entry(out, &b, &first);
        if (r == RP_EIO)
            r = rp_fail(err, RP_EIO, "write failed");
    }
    corpus_ex_close(cur);
    rp_buf_cleanup(&b);
    if (!r && fputs("\n]}}\n", out) < 0)
        r = rp_fail(err, RP_EIO, "write failed");
    return r;
}

int corpus_export_har_run(struct corpus *c, int64_t run_id, FILE *out,
                          char *err)
{
    struct corpus_run_row row;
    char idbuf[32];
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)run_id);
    int r = corpus_run_find(c, idbuf, &row, err);
    if (r)
        return r;
    const char *scheme = !strncmp(row.target, "https:", 6) ? "https" : "http";
    struct corpus_sample_cursor *cur;
    if ((r = corpus_samples_open(c, CORPUS_SET_RUN, run_id, &cur, err)))
        return r;
    char what[600];
    snprintf(what, sizeof what, "run %lld against %s", (long long)run_id,
             row.target);
    struct rp_buf b;
    rp_buf_init(&b, 256u << 20);
    int first = 1;
    r = begin_doc(out, what);
    struct corpus_sample s;
    while (!r && (r = corpus_samples_next(cur, &s, err)) == 1) {
        if (s.error_class == CORPUS_ERR_NOT_SENT)
            continue;
        struct corpus_exchange ex;
        if ((r = corpus_ex_get(c, s.exchange_id, &ex, err)))
            break;
        int64_t late = s.latency_us >= 0 && s.service_us >= 0
                           ? s.latency_us - s.service_us : 0;
        int64_t t[4] = {late, 0, s.ttfb_us > 0 ? s.ttfb_us : 0,
                        s.service_us > s.ttfb_us && s.ttfb_us >= 0
                            ? s.service_us - s.ttfb_us : 0};
        char note[256];
        snprintf(note, sizeof note, "loop %d, copy %d%s%s", s.loop, s.copy,
                 s.error ? ": " : "", s.error ? s.error : "");
        r = exchange_entry(c, &b, &ex, scheme, row.started_us + s.t_us, t,
                           s.status, s.body_hash, s.has_body_hash, NULL, 0,
                           s.resp_bytes > 0 ? (uint64_t)s.resp_bytes : 0,
                           note, err);
        if (r == RP_ENOMEM)
            r = rp_fail(err, RP_ENOMEM, "out of memory");
        if (!r)
            r = flush_entry(out, &b, &first);
        if (r == RP_EIO)
            r = rp_fail(err, RP_EIO, "write failed");
    }
    corpus_samples_close(cur);
    rp_buf_cleanup(&b);
    if (!r && fputs("\n]}}\n", out) < 0)
        r = rp_fail(err, RP_EIO, "write failed");
    return r;
}
