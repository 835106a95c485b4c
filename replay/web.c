/*
 * web.c: the web server of `replay --web`, built on libmicrohttpd (its
 * own polling thread, so nothing here runs on the engines' or the
 * recorder's threads). It serves the dashboard page (embedded in the
 * binary, web_page.html), /api/stats and /metrics from the live statistics
 * (live.c), and two guarded controls, POST /api/stop and POST /api/speed,
 * which need the random token printed at start in the X-Reprise-Token
 * header. It is bounded against slow or hostile clients by libmicrohttpd's
 * own limits: a cap on connections (in total and per address), a
 * per-connection idle timeout and a per-connection memory pool, so a
 * slowloris client times out and a huge header is refused (431) without
 * allocating more. Everything outside the routes is a 404, a wrong method
 * a 405 with Allow, a bad parameter a 400; on a loopback address a Host
 * naming another host (DNS rebinding) is a 403.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "replay/replay_int.h"

#define CONN_LIMIT 64          /* connections at once */
#define PER_IP_LIMIT 16        /* connections from one address */
#define CONN_TIMEOUT_S 10      /* idle connection closed after this */
#define CONN_MEMORY (32 * 1024) /* per connection: headers beyond are 431 */
#define BODY_MAX 4096          /* a POST body beyond this is refused */
#define TOKEN_BYTES 16

extern const char replay_web_page[];   /* web_page.html, generated */
extern const size_t replay_web_page_len;

struct rp_web {
    struct MHD_Daemon *d;
    struct rp_ctx *c;
    char token[2 * TOKEN_BYTES + 1];
    int loopback;      /* bound to a loopback address */
};

/* Per-request state: how much of a POST body was seen (and dropped). */
struct req {
    size_t body;
};

static enum MHD_Result send_buf(struct MHD_Connection *conn, unsigned code,
                                const char *type, char *data, size_t len,
                                enum MHD_ResponseMemoryMode mode,
                                const char *allow)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (allow)
        MHD_add_response_header(r, "Allow", allow);
    if (!strncmp(type, "text/html", 9))
        /* the page may fetch only from here, and nothing may embed it */
        MHD_add_response_header(
            r, "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src "
            "'unsafe-inline'; connect-src 'self'; img-src data:; "
            "frame-ancestors 'none'");
    enum MHD_Result ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

/* A small JSON answer {"error": msg} or {"ok": true, ...}. */
static enum MHD_Result send_json_msg(struct MHD_Connection *conn,
                                     unsigned code, const char *key,
                                     const char *msg, const char *allow)
{
    struct rp_buf b;
    rp_buf_init(&b, 4096);
    if (rp_buf_printf(&b, "{\"%s\":", key) ||
        rp_buf_json_str(&b, msg, strlen(msg)) || rp_buf_puts(&b, "}\n")) {
        rp_buf_cleanup(&b);
        return MHD_NO;
    }
    return send_buf(conn, code, "application/json", b.data, b.len,
                    MHD_RESPMEM_MUST_FREE, allow);
}

static int token_ok(const struct rp_web *w, struct MHD_Connection *conn)
{
    const char *t = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                "X-Reprise-Token");
    size_t n = sizeof w->token - 1;
    if (!t || strlen(t) != n)
        return 0;
    unsigned char diff = 0; /* constant time */
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(t[i] ^ w->token[i]);
    return diff == 0;
}

/* On a loopback address, a Host that names another host is a web page that
 * rebound its own name to 127.0.0.1 (DNS rebinding): it must not read the
 * run's endpoints. Names of this host are 127.0.0.1, localhost, [::1] and
 * the bound address, with or without a port; no Host (HTTP/1.0) passes. */
static int host_ok(const struct rp_web *w, struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                "Host");
    if (!w->loopback || !h)
        return 1;
    size_t n = strlen(h);
    const char *colon = strrchr(h, ':');
    if (colon && (h[0] != '[' || colon > strchr(h, ']')))
        n = (size_t)(colon - h);
    const char *names[] = {"127.0.0.1", "localhost", "[::1]",
                           w->c->o->web_addr};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i]) == n && !strncasecmp(h, names[i], n))
            return 1;
    return 0;
}

static void stop_run(struct rp_ctx *c)
{
    int zero = 0;
    if (atomic_compare_exchange_strong(&c->stop, &zero, 1)) {
        rp_info("stop requested from the dashboard");
        for (int i = 0; i < c->nengines; i++)
            if (c->engines[i])
                replay_engine_wake(c->engines[i]);
    }
}

static enum MHD_Result control(struct rp_web *w, struct MHD_Connection *conn,
                               const char *url)
{
    struct rp_ctx *c = w->c;
    char err[RP_ERRLEN];
    if (!token_ok(w, conn))
        return send_json_msg(conn, 403, "error",
                             "the control token is missing or wrong: give "
                             "the one reprise printed at start in the "
                             "X-Reprise-Token header", NULL);
    if (atomic_load(&c->finished))
        return send_json_msg(conn, 409, "error", "the run has ended", NULL);
    if (!strcmp(url, "/api/stop")) {
        stop_run(c);
        return send_json_msg(conn, 200, "ok", "stopping", NULL);
    }
    if (c->o->nsteps)
        return send_json_msg(conn, 409, "error", "a stepped run (--steps) "
                             "sets its own multiples; stop it instead", NULL);
    const char *key = c->o->mode == RM_RATE ? "rate" : "speed";
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
                                                key);
    char *end = NULL;
    double m = v ? strtod(v, &end) : 0;
    if (!v || !*v || *end) {
        snprintf(err, sizeof err, "give the new %s as ?%s=NUMBER", key, key);
        return send_json_msg(conn, 400, "error", err, NULL);
    }
    if (replay_warp_set(c, m, err))
        return send_json_msg(conn, c->o->mode == RM_MAX ? 409 : 400,
                             "error", err, NULL);
    snprintf(err, sizeof err, "%s %g", key, m);
    return send_json_msg(conn, 200, "ok", err, NULL);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn,
                               const char *url, const char *method,
                               const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    struct rp_web *w = cls;
    struct req *rq = *con_cls;
    static _Thread_local int niced;
    (void)version;
    (void)upload;
    if (!niced) { /* the dashboard yields to the engines, as the recorder */
        setpriority(PRIO_PROCESS, (id_t)gettid(), 5);
        niced = 1;
    }
    if (!rq) {
        if (!(rq = calloc(1, sizeof *rq)))
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size) { /* a body: counted and dropped */
        rq->body += *upload_size;
        *upload_size = 0;
        if (rq->body > BODY_MAX)
            return send_json_msg(conn, 413, "error", "request body too "
                                 "large", NULL);
        return MHD_YES;
    }
    if (!host_ok(w, conn))
        return send_json_msg(conn, 403, "error", "this dashboard answers to "
                             "127.0.0.1 and localhost only (its Host was "
                             "another name)", NULL);
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    int post = !strcmp(method, "POST");
    struct rp_ctx *c = w->c;
    if (!strcmp(url, "/") || !strcmp(url, "/index.html")) {
        if (!get)
            return send_json_msg(conn, 405, "error", "method not allowed",
                                 "GET, HEAD");
        return send_buf(conn, 200, "text/html; charset=utf-8",
                        (char *)replay_web_page, replay_web_page_len,
                        MHD_RESPMEM_PERSISTENT, NULL);
    }
    if (!strcmp(url, "/api/stats") || !strcmp(url, "/metrics")) {
        if (!get)
            return send_json_msg(conn, 405, "error", "method not allowed",
                                 "GET, HEAD");
        struct rp_buf b;
        rp_buf_init(&b, (size_t)16 << 20);
        int json = url[1] == 'a';
        int rc = json ? replay_live_json(c->live, c, &b)
                      : replay_live_metrics(c->live, c, &b);
        if (rc || !b.data) {
            rp_buf_cleanup(&b);
            return send_json_msg(conn, 500, "error", "out of memory", NULL);
        }
        return send_buf(conn, 200,
                        json ? "application/json"
                             : "text/plain; version=0.0.4; charset=utf-8",
                        b.data, b.len, MHD_RESPMEM_MUST_FREE, NULL);
    }
    if (!strcmp(url, "/api/stop") || !strcmp(url, "/api/speed")) {
        if (!post)
            return send_json_msg(conn, 405, "error", "method not allowed",
                                 "POST");
        return control(w, conn, url);
    }
    return send_json_msg(conn, 404, "error", "not found", NULL);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

int replay_web_start(struct rp_ctx *c, struct rp_web **out, char *err)
{
    const struct rp_opts *o = c->o;
    struct rp_web *w = calloc(1, sizeof *w);
    unsigned char rnd[TOKEN_BYTES];
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    *out = NULL;
    if (!w)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    w->c = c;
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        free(w);
        return rp_fail(err, RP_EIO, "--web: cannot read random bytes for "
                       "the control token");
    }
    for (int i = 0; i < TOKEN_BYTES; i++)
        snprintf(w->token + (size_t)2 * i, 3, "%02x", rnd[i]);
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, o->web_addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)o->web_port);
        w->loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    } else {
        inet_pton(AF_INET6, o->web_addr, &s6->sin6_addr);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)o->web_port);
        flags |= MHD_USE_IPv6;
        w->loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
    }
    w->d = MHD_start_daemon(
        flags, (uint16_t)o->web_port, NULL, NULL, handler, w,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_END);
    if (!w->d) {
        free(w);
        return rp_fail(err, RP_EIO, "--web %s: cannot listen there (in use, "
                       "or not an address of this host)", o->web);
    }
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
    int port = di ? di->port : o->web_port;
    int v6 = strchr(o->web_addr, ':') != NULL;
    /* printed even with --quiet: the token is needed to control the run */
    fprintf(stderr, "reprise: dashboard on http://%s%s%s:%d/ (read-only); "
                    "control it with http://%s%s%s:%d/#token=%s\n"
                    "reprise: control token %s (header X-Reprise-Token of "
                    "POST /api/stop and /api/speed)\n",
            v6 ? "[" : "", o->web_addr, v6 ? "]" : "", port, v6 ? "[" : "",
            o->web_addr, v6 ? "]" : "", port, w->token, w->token);
    fflush(stderr);
    *out = w;
    return 0;
}

void replay_web_stop(struct rp_web *w)
{
    if (!w)
        return;
    MHD_stop_daemon(w->d);
    free(w);
}
