/*
 * report_util.c: small formatting helpers shared by the report writers.
 */
#include "analyze/an_priv.h"

#include <math.h>
#include <string.h>

#include "common/buf.h"

void an_fmt_us(double us, char *out, size_t n)
{
    if (isnan(us)) {
        snprintf(out, n, "-");
        return;
    }
    double a = fabs(us);
    if (a < 1000)
        snprintf(out, n, "%.0fus", us);
    else if (a < 10000)
        snprintf(out, n, "%.2fms", us / 1e3);
    else if (a < 1e6)
        snprintf(out, n, "%.1fms", us / 1e3);
    else if (a < 60e6)
        snprintf(out, n, "%.2fs", us / 1e6);
    else
        snprintf(out, n, "%dm%02ds", (int)(us / 60e6),
                 (int)fmod(a / 1e6, 60));
}

void an_set_name(const struct an_set *s, char *out, size_t n)
{
    if (s->kind == CORPUS_SET_CAPTURE)
        snprintf(out, n, "capture %lld", (long long)s->id);
    else if (s->label[0])
        snprintf(out, n, "run %lld '%s'", (long long)s->id, s->label);
    else
        snprintf(out, n, "run %lld", (long long)s->id);
}

void an_json_str(FILE *f, const char *s)
{
    struct rp_buf b;
    rp_buf_init(&b, 0);
    if (rp_buf_json_str(&b, s ? s : "", s ? strlen(s) : 0) == 0 && b.data)
        fputs(b.data, f);
    else
        fputs("\"\"", f);
    rp_buf_cleanup(&b);
}

const char *an_group_by_name(enum an_group_by g)
{
    switch (g) {
    case AN_BY_ENDPOINT: return "endpoint";
    case AN_BY_HOST: return "host";
    case AN_BY_STATUS: return "status";
    case AN_BY_NONE: return "none";
    }
    return "?";
}
