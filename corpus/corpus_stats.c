/*
 * corpus_stats.c: the capture statistics of corpus.h in their two forms,
 * both generated from the one CORPUS_CAPTURE_STATS list: the JSON object
 * stored with the capture (one key per field) and the summary lines that
 * `reprise capture` prints. It also checks the accounting identity every
 * capture promises: requests seen = exchanges written + the lost_* counts.
 */
#include "corpus_priv.h"

#include <stddef.h>
#include <string.h>

#include "common/buf.h"

struct stat_item {
    const char *key, *label;
    int line, always, mb;
    size_t off;
};

static const struct stat_item items[] = {
#define STAT_ITEM(f, label, line, always, unit)                             \
    {#f, label, line, always, unit,                                          \
     offsetof(struct corpus_capture_stats, f)},
    CORPUS_CAPTURE_STATS(STAT_ITEM)
#undef STAT_ITEM
};

#define NITEMS (sizeof items / sizeof items[0])

static uint64_t value(const struct corpus_capture_stats *st, size_t i)
{
    uint64_t v;
    memcpy(&v, (const char *)st + items[i].off, sizeof v);
    return v;
}

int corpus_stats_json(const struct corpus_capture_stats *st, struct rp_buf *b)
{
    int r = rp_buf_puts(b, "{");
    for (size_t i = 0; !r && i < NITEMS; i++)
        r = rp_buf_printf(b, "%s\"%s\":%llu", i ? "," : "", items[i].key,
                          (unsigned long long)value(st, i));
    return r ? r : rp_buf_puts(b, "}");
}

void corpus_capture_stats_print(const struct corpus_capture_stats *st,
                                int64_t id, const char *when, FILE *f)
{
    int line = -1, n = 0;
    for (size_t i = 0; i < NITEMS; i++) {
        uint64_t v = value(st, i);
        if (!items[i].always && !v)
            continue;
        if (items[i].line != line) {
            if (line >= 0)
                fputc('\n', f);
            line = items[i].line;
            n = 0;
            static const char *const title[] = {
                NULL, "requests", "exchanges", "not HTTP/1.x",
                "outside HTTP messages", "correlations", "other protocols"};
            if (line == 0)
                fprintf(f, "reprise: capture %lld%s: ", (long long)id,
                        when ? when : "");
            else
                fprintf(f, "reprise:   %s: ", title[line]);
        }
        fputs(n++ ? ", " : "", f);
        if (items[i].mb)
            fprintf(f, "%.1f MB", (double)v / 1e6);
        else
            fprintf(f, "%llu %s", (unsigned long long)v, items[i].label);
    }
    if (line >= 0)
        fputc('\n', f);
    fflush(f);
}

int64_t corpus_capture_stats_unaccounted(const struct corpus_capture_stats *st)
{
    int64_t d = (int64_t)st->requests - (int64_t)st->exchanges;
    for (size_t i = 0; i < NITEMS; i++)
        if (!strncmp(items[i].key, "lost_", 5))
            d -= (int64_t)value(st, i);
    return d;
}
