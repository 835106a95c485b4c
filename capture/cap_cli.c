/*
 * cap_cli.c: `reprise capture`. Parses the flags, opens the packet source
 * (live interface or pcap/pcapng file), drops privileges if asked, and runs
 * the pipeline: cap_source -> decode -> tcp_flow -> the HTTP layer behind
 * stream.h -> corpus. It owns the run's lifecycle: signals stop it cleanly
 * (every flow is closed so pending exchanges are written), a quiet live
 * interface still commits once a second, and the statistics are printed
 * and stored with the capture.
 */
#include "capture/capture.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/cap_source.h"
#include "capture/decode.h"
#include "capture/exchange.h"
#include "capture/har.h"
#include "capture/mux.h"
#include "capture/wire.h"
#include "capture/stream.h"
#include "capture/tcp_flow.h"
#include "common/buf.h"
#include "proto/sniff.h"
#include "common/rp.h"
#include "corpus/corpus.h"

#define MAX_PORTS 64
#define MAX_REDACT 64
#define STATS_EVERY_US 5000000
#define COMMIT_EVERY_US 1000000
#define LIVE_WAIT_MS 200

struct cap_cli_opts {
    const char *iface, *file, *har, *out, *label, *user;
    char *filter;                     /* joined BPF expression, or NULL */
    uint16_t ports[MAX_PORTS];
    int nports;
    double sample;                    /* 0 = keep everything */
    int64_t duration_us, count, flow_timeout_us;
    uint64_t max_memory_bytes, buffer_bytes, max_body_bytes;
    int promisc, immediate, redact, stats;
    int protocol;                     /* enum cap_mux_proto (--protocol) */
    const char *redact_headers[MAX_REDACT + 1];
    int nredact_headers;
    const char *redact_query[MAX_REDACT + 1];
    int nredact_query;
};

struct cap_run {
    struct cap_cli_opts *o;
    struct cap_source *src;
    struct tcp_table *flows;
    struct cap_http *http;
    struct cap_wire *wire;            /* Redis, PostgreSQL, generic TCP */
    struct cap_mux *mux;              /* picks one of the two per connection */
    struct corpus *corpus;
    int64_t capture_id;
    int begun;                        /* capture row written */
    int dlt;
    int rc;                           /* first runtime error, or 0 */
    int stopping;                     /* --count/--duration reached */
    char err[RP_ERRLEN];
    uint64_t packets, bytes, ip_fragments, non_tcp, malformed;
    int64_t first_ts_us, last_ts_us;  /* packet time */
    int64_t start_mono_us, start_wall_us;
    char *options_json;
    char source_desc[300];
};

static struct cap_source *volatile g_src; /* for the signal handler */
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    /* a file read stops at once; a live capture is woken from its wait by
     * the signal and drains what the kernel still holds */
    if (g_src && !cap_source_is_live(g_src))
        cap_source_break(g_src);
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: reprise capture (-i IFACE | -r FILE | --har FILE) -o CORPUS [options]\n"
"                       [BPF expression]\n"
"\n"
"Records HTTP/1.x exchanges seen on a network interface or in a pcap/pcapng\n"
"file into a corpus (a SQLite file, created if missing). TCP streams are\n"
"reassembled per connection; each request is paired with its response and\n"
"stored with its wire timings. Words after the options form a BPF filter,\n"
"as with tcpdump (e.g. 'host 10.0.0.5 and port 8080').\n"
"Every request seen is an exchange or counted by cause in the summary;\n"
"malformed requests the server answered are kept (flag malformed), framing\n"
"a server could read two ways is flagged ambiguous-framing (README:\n"
"\"Malformed and ambiguous messages\"), and TLS, HTTP/2 and other non-HTTP\n"
"connections are named. An import into a new corpus file does not fsync.\n"
"\n"
"source (exactly one):\n"
"  -i, --interface IFACE   capture live from IFACE (needs root or CAP_NET_RAW);\n"
"                          stops on SIGINT/SIGTERM, --duration or --count\n"
"  -r, --read FILE         read a pcap or pcapng file; '-' reads standard\n"
"                          input (tcpdump -w - ... | reprise capture -r - ...)\n"
"  --har FILE              import a HAR 1.2 file (a browser's devtools: \"Save\n"
"                          all as HAR\"): every entry becomes an exchange with\n"
"                          its timings, redacted as captured traffic is; HTTP/2\n"
"                          entries are stored as HTTP/1.1, encoded bodies as\n"
"                          the HAR holds them (decoded)\n"
"output:\n"
"  -o, --output CORPUS     corpus file to write (required)\n"
"  --label NAME            label stored with the capture\n"
"selection:\n"
"  --protocol P            what the connections speak: http (HTTP/1.x),\n"
"                          redis (RESP2/RESP3), postgres (PostgreSQL v3), or\n"
"                          tcp (any turn-taking protocol: a message is one\n"
"                          side's bytes until the other side speaks; good for\n"
"                          memcached text, SMTP and homegrown protocols).\n"
"                          Without it each connection's first bytes decide,\n"
"                          then its server port (6379 redis, 5432 postgres),\n"
"                          else HTTP. Redis AUTH (and HELLO, MIGRATE, CONFIG\n"
"                          SET requirepass, ACL SETUSER) secrets become\n"
"                          markers and SQL that sets a PASSWORD is not kept,\n"
"                          unless --no-redact; PostgreSQL startups and\n"
"                          password messages are never stored\n"
"  --port N[,N...]         server ports: only these connections are recorded,\n"
"                          and the side on such a port is the server. Without\n"
"                          it the server is the side that received the SYN, or\n"
"                          else the side that receives request lines\n"
"  --sample RATIO          keep this share (0 < RATIO <= 1) of connections,\n"
"                          chosen by a hash of the address pair, so a kept\n"
"                          connection is kept whole\n"
"  --duration D            stop after D (e.g. 30s, 5m): wall time when live,\n"
"                          packet time when reading a file\n"
"  --count N               stop once N exchanges are written (exchanges still\n"
"                          in flight at that moment are written too)\n"
"live capture:\n"
"  --buffer-size SIZE      kernel capture buffer (default 64MiB)\n"
"  --promisc               put the interface in promiscuous mode (default off)\n"
"  --immediate             hand each packet over at once (libpcap immediate\n"
"                          mode). Off by default: the kernel then batches\n"
"                          packets for at most 50 ms in a packed ring, which\n"
"                          holds far more packets in the same --buffer-size\n"
"  --user NAME             drop root privileges to user NAME once the\n"
"                          interface is open (like tcpdump -Z); the corpus is\n"
"                          then written as that user\n"
"reassembly:\n"
"  --flow-timeout D        close connections idle for D, by packet time\n"
"                          (default 60s)\n"
"  --max-memory SIZE       cap on connection state plus buffered out-of-order\n"
"                          data (default 512MiB); the least recently active\n"
"                          connections are evicted beyond it\n"
"HTTP:\n"
"  --max-body SIZE         store bodies up to SIZE bytes each (default 1MiB);\n"
"                          longer ones are truncated and flagged\n"
"  --no-redact             keep the values of Authorization,\n"
"                          Proxy-Authorization, Cookie and Set-Cookie, which\n"
"                          are otherwise replaced by a marker\n"
"                          \"[redacted len=N h=HASH]\" (HASH: keyed per capture,\n"
"                          so equal values stay equal); names given with the\n"
"                          two options below are still redacted. Also keeps\n"
"                          Redis AUTH arguments and SQL setting a PASSWORD\n"
"                          (--protocol)\n"
"  --redact-header NAME    also redact header NAME (repeatable)\n"
"  --redact-query PARAM    also redact the value of query parameter PARAM in\n"
"                          request targets (repeatable)\n"
"other:\n"
"  --stats                 print statistics to stderr every 5 seconds\n"
"  -q, --quiet             no summary line at the end\n"
"  -h, --help              this help\n"
"\n"
"Link types: Ethernet (with 802.1Q/QinQ tags), Linux cooked (SLL, SLL2), raw\n"
"IPv4/IPv6 and BSD loopback; IPv4 and IPv6 (extension headers skipped; IP\n"
"fragments are counted and skipped).\n"
"Exit status: 0 done (also after SIGINT/SIGTERM, or a truncated file whose\n"
"readable part was recorded), 2 bad usage or input, 1 runtime failure.\n");
}

/* ---- argument parsing ---------------------------------------------------- */

enum {
    OPT_LABEL = 256, OPT_PORT, OPT_SAMPLE, OPT_DURATION, OPT_COUNT,
    OPT_BUFFER, OPT_PROMISC, OPT_USER, OPT_FLOW_TIMEOUT, OPT_MAX_MEMORY,
    OPT_MAX_BODY, OPT_NO_REDACT, OPT_REDACT_HEADER, OPT_REDACT_QUERY,
    OPT_STATS, OPT_IMMEDIATE, OPT_HAR, OPT_PROTOCOL,
};

static int parse_ports(const char *s, struct cap_cli_opts *o, char *err)
{
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > 65535 ||
            (*end && *end != ','))
            return rp_fail(err, RP_EUSAGE, "--port: '%s' is not a list of "
                           "ports 1-65535 (example: --port 80,8080)", s);
        if (o->nports == MAX_PORTS)
            return rp_fail(err, RP_EUSAGE, "--port: at most %d ports",
                           MAX_PORTS);
        o->ports[o->nports++] = (uint16_t)v;
        p = *end ? end + 1 : end;
        if (*end && !*p)
            return rp_fail(err, RP_EUSAGE, "--port: '%s' ends with a comma",
                           s);
    }
    if (o->nports == 0)
        return rp_fail(err, RP_EUSAGE, "--port: empty port list");
    return RP_OK;
}

static int join_filter(int argc, char **argv, struct cap_cli_opts *o,
                       char *err)
{
    size_t n = 0;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) + 1;
    if (!n)
        return RP_OK;
    if (!(o->filter = malloc(n)))
        return rp_fail(err, RP_ENOMEM, "out of memory");
    o->filter[0] = '\0';
    for (int i = 0; i < argc; i++) {
        if (i)
            strcat(o->filter, " ");
        strcat(o->filter, argv[i]);
    }
    return RP_OK;
}

/* Returns 0, 1 when --help was printed, or RP_EUSAGE. */
static int parse_args(int argc, char **argv, struct cap_cli_opts *o, char *err)
{
    static const struct option lopts[] = {
        {"interface", required_argument, NULL, 'i'},
        {"read", required_argument, NULL, 'r'},
        {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"label", required_argument, NULL, OPT_LABEL},
        {"port", required_argument, NULL, OPT_PORT},
        {"sample", required_argument, NULL, OPT_SAMPLE},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"count", required_argument, NULL, OPT_COUNT},
        {"buffer-size", required_argument, NULL, OPT_BUFFER},
        {"promisc", no_argument, NULL, OPT_PROMISC},
        {"user", required_argument, NULL, OPT_USER},
        {"flow-timeout", required_argument, NULL, OPT_FLOW_TIMEOUT},
        {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"no-redact", no_argument, NULL, OPT_NO_REDACT},
        {"redact-header", required_argument, NULL, OPT_REDACT_HEADER},
        {"redact-query", required_argument, NULL, OPT_REDACT_QUERY},
        {"stats", no_argument, NULL, OPT_STATS},
        {"immediate", no_argument, NULL, OPT_IMMEDIATE},
        {"har", required_argument, NULL, OPT_HAR},
        {"protocol", required_argument, NULL, OPT_PROTOCOL},
        {NULL, 0, NULL, 0},
    };
    int c, rc = RP_OK;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":i:r:o:qh", lopts, NULL)) != -1) {
        switch (c) {
        case 'i': o->iface = optarg; break;
        case 'r': o->file = optarg; break;
        case 'o': o->out = optarg; break;
        case 'q': rp_quiet = 1; break;
        case 'h': usage(stdout); return 1;
        case OPT_LABEL: o->label = optarg; break;
        case OPT_PORT: rc = parse_ports(optarg, o, err); break;
        case OPT_SAMPLE:
            rc = rp_parse_double(optarg, "--sample", 0, &o->sample, err);
            if (!rc && o->sample > 1)
                rc = rp_fail(err, RP_EUSAGE, "--sample: '%s' is more than 1; "
                             "give a share such as 0.1", optarg);
            break;
        case OPT_DURATION:
            rc = rp_parse_duration_us(optarg, "--duration", &o->duration_us,
                                      err);
            if (!rc && o->duration_us <= 0)
                rc = rp_fail(err, RP_EUSAGE, "--duration: must be positive");
            break;
        case OPT_COUNT:
            rc = rp_parse_i64(optarg, "--count", 1, INT64_MAX, &o->count, err);
            break;
        case OPT_BUFFER:
            rc = rp_parse_size(optarg, "--buffer-size", &o->buffer_bytes, err);
            if (!rc && (o->buffer_bytes < 65536 || o->buffer_bytes > INT32_MAX))
                rc = rp_fail(err, RP_EUSAGE, "--buffer-size: '%s' must be "
                             "between 64k and 2G", optarg);
            break;
        case OPT_PROMISC: o->promisc = 1; break;
        case OPT_IMMEDIATE: o->immediate = 1; break;
        case OPT_HAR: o->har = optarg; break;
        case OPT_PROTOCOL:
            if (!strcmp(optarg, "http"))
                o->protocol = CAP_MUX_HTTP;
            else if (!(o->protocol = (int)cap_wire_proto_parse(optarg)))
                rc = rp_fail(err, RP_EUSAGE, "--protocol: '%s' is not one "
                             "of http, redis, postgres, tcp", optarg);
            break;
        case OPT_USER: o->user = optarg; break;
        case OPT_FLOW_TIMEOUT:
            rc = rp_parse_duration_us(optarg, "--flow-timeout",
                                      &o->flow_timeout_us, err);
            if (!rc && o->flow_timeout_us <= 0)
                rc = rp_fail(err, RP_EUSAGE, "--flow-timeout: must be "
                             "positive");
            break;
        case OPT_MAX_MEMORY:
            rc = rp_parse_size(optarg, "--max-memory", &o->max_memory_bytes,
                               err);
            if (!rc && o->max_memory_bytes < (1u << 20))
                rc = rp_fail(err, RP_EUSAGE, "--max-memory: '%s' is below "
                             "the minimum of 1MiB", optarg);
            break;
        case OPT_MAX_BODY:
            rc = rp_parse_size(optarg, "--max-body", &o->max_body_bytes, err);
            break;
        case OPT_NO_REDACT: o->redact = 0; break;
        case OPT_REDACT_HEADER:
            if (o->nredact_headers == MAX_REDACT)
                return rp_fail(err, RP_EUSAGE, "--redact-header: at most %d",
                               MAX_REDACT);
            o->redact_headers[o->nredact_headers++] = optarg;
            break;
        case OPT_REDACT_QUERY:
            if (o->nredact_query == MAX_REDACT)
                return rp_fail(err, RP_EUSAGE, "--redact-query: at most %d",
                               MAX_REDACT);
            o->redact_query[o->nredact_query++] = optarg;
            break;
        case OPT_STATS: o->stats = 1; break;
        case ':':
            return rp_fail(err, RP_EUSAGE, "%s needs a value; see 'reprise "
                           "capture --help'", argv[optind - 1]);
        default:
            return rp_fail(err, RP_EUSAGE, "unknown option '%s'; see 'reprise "
                           "capture --help'", argv[optind - 1]);
        }
        if (rc)
            return rc;
    }
    if ((o->iface != NULL) + (o->file != NULL) + (o->har != NULL) != 1)
        return rp_fail(err, RP_EUSAGE, "give exactly one source: -i IFACE, "
                       "-r FILE or --har FILE; see 'reprise capture --help'");
    if (!o->out)
        return rp_fail(err, RP_EUSAGE, "-o CORPUS is required: the corpus "
                       "file to write");
    if (o->user && !o->iface)
        return rp_fail(err, RP_EUSAGE, "--user only applies to live capture "
                       "(-i)");
    struct stat st;
    if (stat(o->out, &st) == 0 && S_ISDIR(st.st_mode))
        return rp_fail(err, RP_EUSAGE, "-o %s: is a directory; give a file "
                       "path for the corpus", o->out);
    return join_filter(argc - optind, argv + optind, o, err);
}

/* ---- the run ------------------------------------------------------------- */

static int drop_privileges(const char *user, char *err)
{
    struct passwd *pw = getpwnam(user);
    if (!pw)
        return rp_fail(err, RP_EUSAGE, "--user %s: no such user", user);
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
        setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
        return rp_fail(err, RP_EIO, "--user %s: cannot switch to that user "
                       "(%s); --user needs root", user, strerror(errno));
    if (setuid(0) == 0)
        return rp_fail(err, RP_EIO, "--user %s: root privileges could not be "
                       "dropped", user);
    return RP_OK;
}

static char *options_json(const struct cap_cli_opts *o)
{
    struct rp_buf b;
    rp_buf_init(&b, 1 << 16);
    rp_buf_puts(&b, "{\"ports\":[");
    for (int i = 0; i < o->nports; i++)
        rp_buf_printf(&b, "%s%u", i ? "," : "", o->ports[i]);
    rp_buf_printf(&b, "],\"sample\":%g,\"duration_us\":%lld,\"count\":%lld,"
                  "\"flow_timeout_us\":%lld,\"max_memory_bytes\":%llu,"
                  "\"max_body_bytes\":%llu,\"redact\":%s,\"promisc\":%s,"
                  "\"immediate\":%s",
                  o->sample > 0 ? o->sample : 1.0, (long long)o->duration_us,
                  (long long)o->count, (long long)o->flow_timeout_us,
                  (unsigned long long)o->max_memory_bytes,
                  (unsigned long long)o->max_body_bytes,
                  o->redact ? "true" : "false", o->promisc ? "true" : "false",
                  o->immediate ? "true" : "false");
    if (o->iface)
        rp_buf_printf(&b, ",\"buffer_bytes\":%llu",
                      (unsigned long long)o->buffer_bytes);
    rp_buf_puts(&b, ",\"redact_headers\":[");
    for (int i = 0; i < o->nredact_headers; i++) {
        if (i)
            rp_buf_puts(&b, ",");
        rp_buf_json_str(&b, o->redact_headers[i], strlen(o->redact_headers[i]));
    }
    rp_buf_puts(&b, "],\"redact_query\":[");
    for (int i = 0; i < o->nredact_query; i++) {
        if (i)
            rp_buf_puts(&b, ",");
        rp_buf_json_str(&b, o->redact_query[i], strlen(o->redact_query[i]));
    }
    rp_buf_puts(&b, "]}");
    return b.data; /* owned by the caller now */
}

/* Writes the capture row and creates the HTTP layer and the flow table. */
static int begin_capture(struct cap_run *r, int64_t started_us)
{
    struct cap_cli_opts *o = r->o;
    struct corpus_capture_info ci = {
        .label = o->label, .source = r->source_desc, .filter = o->filter,
        .started_us = started_us,
        .redacted = o->redact || o->nredact_headers || o->nredact_query,
        .options_json = r->options_json,
    };
    int rc = corpus_capture_begin(r->corpus, &ci, &r->capture_id, r->err);
    if (rc)
        return rc;
    r->begun = 1;
    /* Hashing, compression and SQLite run on the corpus writer thread,
     * overlapping with packet parsing on this one. */
    if ((rc = corpus_set_async(r->corpus, 1, r->err)))
        return rc;
    struct cap_http_opts ho = {
        .max_body_bytes = o->max_body_bytes, .redact = o->redact,
        .redact_headers = o->redact_headers, .redact_query = o->redact_query,
        .max_memory_bytes = o->max_memory_bytes,
    };
    if (!(r->http = cap_http_new(r->corpus, r->capture_id, &ho)))
        return rp_fail(r->err, RP_ENOMEM, "out of memory");
    struct cap_wire_opts wo = {
        .max_body_bytes = o->max_body_bytes,
        .max_memory_bytes = o->max_memory_bytes,
        .no_redact = !o->redact,
    };
    if (!(r->wire = cap_wire_new(r->corpus, r->capture_id, &wo)) ||
        !(r->mux = cap_mux_new(r->http, r->wire,
                               (enum cap_mux_proto)o->protocol)))
        return rp_fail(r->err, RP_ENOMEM, "out of memory");
    struct tcp_opts to = {
        .server_ports = o->ports, .nserver_ports = o->nports,
        .flow_timeout_us = o->flow_timeout_us,
        .max_memory_bytes = o->max_memory_bytes,
        .sample_ratio = o->sample,
        .looks_like_request = cap_http_looks_like_request,
        .looks_like_response = cap_http_looks_like_response,
    };
    if (!(r->flows = tcp_table_new(&to, cap_mux_ops(), r->mux)))
        return rp_fail(r->err, RP_ENOMEM, "out of memory");
    return RP_OK;
}

static void stop_run(struct cap_run *r, int rc)
{
    if (rc && !r->rc)
        r->rc = rc;
    r->stopping = 1;
    cap_source_break(r->src);
}

/* The first write error of either layer. */
static int layers_error(struct cap_run *r, char *err)
{
    int rc = r->http ? cap_http_error(r->http, err) : 0;
    if (!rc && r->wire)
        rc = cap_wire_error(r->wire, err);
    return rc;
}

static void on_packet(void *user, int64_t ts_us, const uint8_t *frame,
                      uint32_t caplen, uint32_t wire_len)
{
    struct cap_run *r = user;
    if (r->stopping)
        return;
    if (!r->begun) {
        r->first_ts_us = ts_us;
        int rc = begin_capture(r, r->o->iface ? r->start_wall_us : ts_us);
        if (rc) {
            stop_run(r, rc);
            return;
        }
    }
    if (r->o->duration_us && !r->o->iface &&
        ts_us - r->first_ts_us >= r->o->duration_us) {
        stop_run(r, 0);
        return;
    }
    r->packets++;
    r->bytes += wire_len;
    if (ts_us > r->last_ts_us)
        r->last_ts_us = ts_us;
    struct cap_segment seg;
    switch (cap_decode(r->dlt, frame, caplen, &seg)) {
    case CAP_DEC_TCP:
        tcp_table_segment(r->flows, &seg, ts_us);
        break;
    case CAP_DEC_FRAGMENT:
        r->ip_fragments++;
        break;
    case CAP_DEC_NON_TCP:
        r->non_tcp++;
        break;
    case CAP_DEC_MALFORMED:
        r->malformed++;
        break;
    }
    if ((r->packets & 255) == 0 || r->o->count) {
        int rc = layers_error(r, r->err);
        if (rc) {
            stop_run(r, rc);
            return;
        }
        if (r->o->count) {
            struct cap_http_stats hs;
            struct cap_wire_stats ws;
            cap_http_stats(r->http, &hs);
            cap_wire_stats(r->wire, &ws);
            if ((int64_t)(hs.exchanges + ws.exchanges) >= r->o->count)
                stop_run(r, 0);
        }
    }
}

static void collect_stats(struct cap_run *r, struct corpus_capture_stats *cs)
{
    memset(cs, 0, sizeof *cs);
    cs->packets = r->packets;
    cs->bytes = r->bytes;
    cs->ip_fragments = r->ip_fragments;
    cs->non_tcp = r->non_tcp + r->malformed; /* unusable as TCP either way */
    if (r->flows) {
        struct tcp_stats ts;
        tcp_table_stats(r->flows, &ts);
        cs->flows = ts.flows;
        cs->evictions = ts.evictions;
        cs->gaps = ts.gaps;
    }
    if (r->http) {
        struct cap_http_stats hs;
        cap_http_stats(r->http, &hs);
        cs->requests = hs.requests;
        cs->exchanges = hs.exchanges;
        cs->lost_tunnel = hs.lost_tunnel;
        cs->lost_no_memory = hs.lost_no_memory;
        cs->requests_in_gaps = hs.requests_in_gaps;
        cs->incomplete = hs.incomplete;
        cs->no_response = hs.no_response;
        cs->malformed = hs.malformed;
        cs->ambiguous = hs.ambiguous;
        cs->http09 = hs.http09;
        cs->upgraded = hs.upgraded;
        cs->unparsable = hs.unparsable;
        cs->tls_connections = hs.proto[PROTO_TLS];
        cs->http2_connections = hs.proto[PROTO_HTTP2];
        cs->redis_connections = hs.proto[PROTO_REDIS];
        cs->postgresql_connections = hs.proto[PROTO_POSTGRES];
        cs->mysql_connections = hs.proto[PROTO_MYSQL];
        cs->ssh_connections = hs.proto[PROTO_SSH];
        cs->other_connections = hs.proto[PROTO_OTHER];
        cs->unpaired_responses = hs.unpaired_responses;
        cs->unframed_bytes = hs.unframed_bytes;
    }
    if (r->wire) {
        struct cap_wire_stats ws;
        cap_wire_stats(r->wire, &ws);
        cs->requests += ws.requests;
        cs->exchanges += ws.exchanges;
        cs->lost_no_memory += ws.lost_no_memory;
        cs->incomplete += ws.incomplete;
        cs->no_response += ws.no_response;
        cs->malformed += ws.malformed;
        cs->unpaired_responses += ws.unpaired_responses;
        cs->unframed_bytes += ws.unframed_bytes;
        cs->tls_connections += ws.tls;
        cs->redis_recorded = ws.conns[CAP_WIRE_REDIS];
        cs->postgres_recorded = ws.conns[CAP_WIRE_PG];
        cs->tcp_recorded = ws.conns[CAP_WIRE_TCP];
        cs->pushes = ws.pushes;
        cs->copies = ws.copies;
        cs->startups = ws.startups;
        cs->secrets = ws.secrets;
    }
    if (r->src)
        cap_source_drops(r->src, &cs->pcap_drops, &cs->pcap_ifdrops);
    cs->ended_us = r->o->iface ? rp_wall_us()
                               : (r->last_ts_us ? r->last_ts_us
                                                : r->start_wall_us);
}

static void print_stats(const struct corpus_capture_stats *cs, int64_t id,
                        const char *when)
{
    corpus_capture_stats_print(cs, id, when, stderr);
}

/* After the summary: what the connections that were not HTTP/1.x are and
 * what to do about them, a word when nothing useful was recorded, and a
 * note if the accounting does not add up (a bug). */
static void print_advice(const struct cap_run *r,
                         const struct corpus_capture_stats *cs)
{
    struct cap_http_stats hs;
    memset(&hs, 0, sizeof hs);
    if (r->http)
        cap_http_stats(r->http, &hs);
    for (int k = PROTO_UNKNOWN + 1; k < PROTO__COUNT; k++)
        if (hs.proto[k])
            rp_warn("%llu connection%s %s %s: %s",
                    (unsigned long long)hs.proto[k],
                    hs.proto[k] == 1 ? "" : "s",
                    hs.proto[k] == 1 ? "is" : "are",
                    proto_label((enum proto_kind)k),
                    proto_advice((enum proto_kind)k));
    if (cs->exchanges == 0)
        rp_warn("capture %lld recorded nothing useful: no exchange in "
                "%llu packets%s", (long long)r->capture_id,
                (unsigned long long)cs->packets,
                cs->packets ? "" : " (check the interface, --port and the "
                                   "BPF filter)");
    int64_t lost = corpus_capture_stats_unaccounted(cs);
    if (lost)
        rp_warn("capture %lld: %lld requests seen are neither exchanges nor "
                "counted losses; this is a bug in reprise, please report it",
                (long long)r->capture_id, (long long)lost);
}

/* Adds "tcp port N or ..." to a live filter so the kernel drops the rest. */
static int live_filter(const struct cap_cli_opts *o, struct rp_buf *b)
{
    if (o->filter)
        rp_buf_printf(b, "(%s)", o->filter);
    if (o->nports) {
        rp_buf_printf(b, "%s(", o->filter ? " and " : "");
        for (int i = 0; i < o->nports; i++)
            rp_buf_printf(b, "%stcp port %u", i ? " or " : "", o->ports[i]);
        rp_buf_puts(b, ")");
    }
    return b->len > 0;
}

/* Reads what the kernel still holds (a batch is handed over at least every
 * CAP_BLOCK_TIMEOUT_MS), so a stopped capture keeps everything it saw. */
static void drain_live(struct cap_run *r)
{
    int64_t until = rp_mono_us() + 2000LL * CAP_BLOCK_TIMEOUT_MS;
    char err[RP_ERRLEN];
    while (!r->stopping && rp_mono_us() < until &&
           cap_source_read(r->src, 4096, CAP_BLOCK_TIMEOUT_MS / 5, on_packet,
                           r, err) >= 0)
        ;
}

static int run_loop(struct cap_run *r)
{
    int live = cap_source_is_live(r->src);
    int64_t last_commit = rp_mono_us(), last_stats = last_commit;
    int rc = RP_OK;
    for (;;) {
        char err[RP_ERRLEN];
        int n = cap_source_read(r->src, live ? 4096 : 8192,
                                live ? LIVE_WAIT_MS : 0, on_packet, r, err);
        if (n == CAP_SRC_EOF || n == CAP_SRC_BREAK)
            break;
        if (n < 0) {
            if (!live && strstr(err, "truncated")) {
                rp_warn("%s; the packets before the cut were recorded", err);
                break;
            }
            rc = n;
            snprintf(r->err, sizeof r->err, "%s", err);
            break;
        }
        int64_t now = rp_mono_us();
        if (r->o->stats && r->begun && now - last_stats >= STATS_EVERY_US) {
            struct corpus_capture_stats cs;
            collect_stats(r, &cs);
            print_stats(&cs, r->capture_id, " so far");
            last_stats = now;
        }
        if (!live)
            continue;
        if (!r->begun && (rc = begin_capture(r, r->start_wall_us)))
            break;
        if (n == 0)
            tcp_table_expire(r->flows, rp_wall_us());
        if (now - last_commit >= COMMIT_EVERY_US) {
            if ((rc = corpus_flush(r->corpus, r->err)))
                break;
            last_commit = now;
        }
        if (g_stop || (r->o->duration_us &&
                       now - r->start_mono_us >= r->o->duration_us)) {
            drain_live(r);
            break;
        }
        if (r->rc)
            break;
    }
    if (r->rc)
        rc = r->rc;
    return rc;
}

/* Ends the capture row: stats into the corpus, the summary and advice. */
static int end_capture(struct cap_run *r, int rc, char *err)
{
    if (!r->begun)
        return rc;
    if (r->flows)
        tcp_table_close_all(r->flows, CAP_CLOSE_END,
                            r->last_ts_us ? r->last_ts_us : rp_wall_us());
    if (!rc)
        rc = layers_error(r, err);
    uint64_t links = 0;
    if (!rc && r->http)
        rc = cap_http_write_links(r->http, &links, err);
    struct corpus_capture_stats cs;
    collect_stats(r, &cs);
    cs.correlations = links;
    char err2[RP_ERRLEN];
    int rc2 = corpus_capture_end(r->corpus, r->capture_id, &cs,
                                 rc ? err2 : err);
    if (!rc)
        rc = rc2;
    if (!rp_quiet || r->o->stats) {
        print_stats(&cs, r->capture_id, "");
        print_advice(r, &cs);
    }
    return rc;
}

/* --har FILE: the entries through the same HTTP layer, no packets. */
static int har_main(struct cap_run *r, char *err)
{
    struct cap_cli_opts *o = r->o;
    struct cap_har *h = NULL;
    snprintf(r->source_desc, sizeof r->source_desc, "har:%s", o->har);
    int rc = cap_har_load(o->har, &h, err);
    if (!rc)
        rc = corpus_open(o->out, CORPUS_CREATE, &r->corpus, err);
    if (!rc) {
        r->options_json = options_json(o);
        int64_t first = cap_har_first_us(h);
        rc = begin_capture(r, first ? first : r->start_wall_us);
        if (rc)
            snprintf(err, RP_ERRLEN, "%s", r->err);
    }
    struct cap_har_stats hs;
    memset(&hs, 0, sizeof hs);
    if (!rc)
        rc = cap_har_feed(h, cap_http_ops(), r->http, &hs, err);
    if (h)
        r->last_ts_us = cap_har_last_us(h);
    cap_har_free(h);
    if (!rc && hs.skipped)
        rp_warn("%s: %llu of %llu entries skipped (no usable request, URL, "
                "start time or response status)", o->har,
                (unsigned long long)hs.skipped,
                (unsigned long long)hs.entries);
    if (!rc && !rp_quiet)
        rp_info("%s: %llu entries imported on %llu connections", o->har,
                (unsigned long long)hs.imported,
                (unsigned long long)hs.connections);
    return end_capture(r, rc, err);
}

static int capture_main(struct cap_cli_opts *o, char *err)
{
    struct cap_run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.start_mono_us = rp_mono_us();
    r.start_wall_us = rp_wall_us();
    int rc;
    struct rp_buf fb;
    rp_buf_init(&fb, 1 << 16);

    if (o->har) {
        rc = har_main(&r, err);
        goto done;
    }
    if (o->iface) {
        struct cap_live_opts lo = {.buffer_bytes = o->buffer_bytes,
                                   .promisc = o->promisc,
                                   .immediate = o->immediate};
        rc = cap_source_open_live(o->iface, &lo, &r.src, err);
        snprintf(r.source_desc, sizeof r.source_desc, "iface:%s", o->iface);
    } else {
        rc = cap_source_open_file(o->file, &r.src, err);
        snprintf(r.source_desc, sizeof r.source_desc, "file:%s",
                 strcmp(o->file, "-") ? o->file : "-");
    }
    if (rc)
        goto done;
    if (o->user && (rc = drop_privileges(o->user, err)))
        goto done;
    const char *filter = o->filter;
    if (o->iface && live_filter(o, &fb))
        filter = fb.data;
    if (filter && (rc = cap_source_set_filter(r.src, filter, err)))
        goto done;
    r.dlt = cap_source_datalink(r.src);
    /* A pcap file is imported in bulk; live and stdin captures run long,
     * with readers alongside, so they keep the WAL journal. */
    struct stat st;
    int bulk = !o->iface && strcmp(o->file, "-") && stat(o->file, &st) == 0 &&
               S_ISREG(st.st_mode);
    rc = corpus_open(o->out, bulk ? CORPUS_IMPORT : CORPUS_CREATE, &r.corpus,
                     err);
    if (rc)
        goto done;
    r.options_json = options_json(o);

    g_src = r.src;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (o->iface)
        rp_info("capturing on %s%s%s into %s; stop with Ctrl-C", o->iface,
                filter ? " with filter " : "", filter ? filter : "", o->out);

    rc = run_loop(&r);
    g_src = NULL;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (!r.begun && !rc)
        rc = begin_capture(&r, r.start_wall_us);
    if (rc)
        snprintf(err, RP_ERRLEN, "%s", r.err);
    rc = end_capture(&r, rc, err);
done:
    tcp_table_free(r.flows);
    if (r.http)
        cap_http_free(r.http);
    cap_wire_free(r.wire);
    cap_mux_free(r.mux);
    if (r.corpus) {
        char err3[RP_ERRLEN];
        int rc3 = corpus_close(r.corpus, rc ? err3 : err);
        if (!rc)
            rc = rc3;
    }
    cap_source_free(r.src);
    free(r.options_json);
    rp_buf_cleanup(&fb);
    return rc;
}

int cap_cmd(int argc, char **argv)
{
    char err[RP_ERRLEN] = "";
    struct cap_cli_opts o;
    memset(&o, 0, sizeof o);
    o.redact = 1;
    o.protocol = CAP_MUX_AUTO;
    o.flow_timeout_us = 60 * 1000000LL;
    o.max_memory_bytes = 512ull << 20;
    o.buffer_bytes = 64ull << 20;
    o.max_body_bytes = 1ull << 20;
    int rc = parse_args(argc, argv, &o, err);
    if (rc == 1) {
        free(o.filter);
        return 0;
    }
    if (!rc)
        rc = capture_main(&o, err);
    free(o.filter);
    if (rc) {
        fprintf(stderr, "reprise capture: %s\n", err);
        return rp_exit_code(rc);
    }
    return 0;
}
