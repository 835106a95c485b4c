/*
 * bare_curl_multi.c: the floor for reprise's replay engine. A minimal
 * libcurl multi loop on epoll (curl_multi_socket_action, like the engine)
 * keeps CONCURRENCY reused easy handles busy with GET URL for SECONDS and
 * prints the requests per second, with the same request headers as the
 * benchmark corpus. It records nothing, hashes nothing and schedules
 * nothing, so reprise's rate over this one is the cost of everything
 * reprise adds on top of libcurl. Built by bench_replay_throughput.sh, not
 * part of the build:
 *
 *   bare_curl_multi URL CONCURRENCY SECONDS
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

struct bare {
    CURLM *multi;
    int epfd;
    long timeout_ms; /* libcurl's timer, -1 when none */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sock_cb(CURL *h, curl_socket_t s, int what, void *userp,
                   void *socketp)
{
    struct bare *b = userp;
    struct epoll_event ev;
    (void)h;
    (void)socketp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(b->epfd, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    memset(&ev, 0, sizeof ev);
    ev.data.fd = s;
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
                (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (epoll_ctl(b->epfd, EPOLL_CTL_MOD, s, &ev) < 0)
        epoll_ctl(b->epfd, EPOLL_CTL_ADD, s, &ev);
    return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    ((struct bare *)userp)->timeout_ms = timeout_ms;
    return 0;
}

static size_t write_cb(char *p, size_t size, size_t n, void *userp)
{
    (void)p;
    *(long long *)userp += (long long)(size * n);
    return size * n;
}

int main(int argc, char **argv)
{
    struct bare b = {NULL, -1, -1};
    long long bytes = 0, done = 0, errors = 0;
    int running = 0;
    if (argc != 4) {
        fprintf(stderr, "usage: bare_curl_multi URL CONCURRENCY SECONDS\n");
        return 2;
    }
    int conc = atoi(argv[2]);
    double secs = atof(argv[3]);
    if (conc < 1 || conc > 1024 || secs <= 0) {
        fprintf(stderr, "bare_curl_multi: bad arguments\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    b.multi = curl_multi_init();
    b.epfd = epoll_create1(EPOLL_CLOEXEC);
    curl_multi_setopt(b.multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(b.multi, CURLMOPT_SOCKETDATA, &b);
    curl_multi_setopt(b.multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(b.multi, CURLMOPT_TIMERDATA, &b);
    curl_multi_setopt(b.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)conc);
    curl_multi_setopt(b.multi, CURLMOPT_MAXCONNECTS, (long)conc);
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Host: bench.example");
    hdrs = curl_slist_append(hdrs, "User-Agent: bench/1");
    hdrs = curl_slist_append(hdrs, "Accept: */*");
    CURL **hs = calloc((size_t)conc, sizeof *hs);
    if (!b.multi || b.epfd < 0 || !hdrs || !hs)
        return 1;
    for (int i = 0; i < conc; i++) {
        hs[i] = curl_easy_init();
        curl_easy_setopt(hs[i], CURLOPT_URL, argv[1]);
        curl_easy_setopt(hs[i], CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(hs[i], CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(hs[i], CURLOPT_WRITEDATA, &bytes);
        curl_easy_setopt(hs[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(hs[i], CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(hs[i], CURLOPT_PROXY, "");
        curl_easy_setopt(hs[i], CURLOPT_HTTP_VERSION,
                         (long)CURL_HTTP_VERSION_1_1);
        curl_multi_add_handle(b.multi, hs[i]);
    }
    double t0 = now_s(), end = t0 + secs;
    int stopping = 0;
    curl_multi_socket_action(b.multi, CURL_SOCKET_TIMEOUT, 0, &running);
    while (running || !stopping) {
        struct epoll_event evs[64];
        int wait = b.timeout_ms < 0 || b.timeout_ms > 100 ? 100
                                                          : (int)b.timeout_ms;
        int n = epoll_wait(b.epfd, evs, 64, wait);
        for (int i = 0; i < n; i++) {
            int flags = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                        (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                        (evs[i].events & (EPOLLERR | EPOLLHUP)
                             ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(b.multi, evs[i].data.fd, flags,
                                     &running);
        }
        if (n <= 0 || b.timeout_ms == 0)
            curl_multi_socket_action(b.multi, CURL_SOCKET_TIMEOUT, 0,
                                     &running);
        if (!stopping && now_s() >= end)
            stopping = 1;
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(b.multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            CURL *h = m->easy_handle;
            if (m->data.result == CURLE_OK)
                done++;
            else
                errors++;
            curl_multi_remove_handle(b.multi, h);
            if (!stopping) {
                curl_multi_add_handle(b.multi, h);
                running = 1;
            }
        }
    }
    double el = now_s() - t0;
    printf("%.2f %lld %lld %lld\n", (double)done / el, done, errors, bytes);
    for (int i = 0; i < conc; i++) {
        curl_multi_remove_handle(b.multi, hs[i]);
        curl_easy_cleanup(hs[i]);
    }
    free(hs);
    curl_slist_free_all(hdrs);
    curl_multi_cleanup(b.multi);
    curl_global_cleanup();
    return 0;
}
