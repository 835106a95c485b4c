/*
 * corpus_cli.c: the subcommands that only read a corpus: `reprise ls DB`
 * lists captures and runs, `reprise export DB` writes exchanges as JSON
 * lines. Each parses its own flags with getopt_long, prints one stderr line
 * per error and returns the exit code (2 for usage or bad input, 1 for a
 * runtime failure).
 */
#include "corpus/corpus_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/rp.h"
#include "corpus/corpus.h"

static void ls_usage(FILE *f)
{
    fprintf(f,
        "usage: reprise ls [--help] CORPUS\n\n"
        "List the captures and replay runs stored in the corpus file CORPUS,\n"
        "with their ids and labels (to pass to replay and analyze), start\n"
        "time (UTC), duration, exchange or result counts and capture stats.\n"
        "The file is opened read-only and never changed.\n\n"
        "flags:\n"
        "  -h, --help   print this help and exit\n");
}

static void export_usage(FILE *f)
{
    fprintf(f,
        "usage: reprise export [--capture ID | --run RUN] [--format jsonl|har]\n"
        "                      [-o FILE] CORPUS\n\n"
        "Write what the corpus file CORPUS holds. jsonl (the default): the\n"
        "captured exchanges as JSON lines, one object per exchange in request\n"
        "order (keys in corpus/SCHEMA.md), without bodies. har: one HAR 1.2\n"
        "document that browsers' devtools and HAR viewers open: a capture's\n"
        "exchanges with headers, stored bodies and wire timings, or with --run\n"
        "a run's results (the captured request, the status, the body when the\n"
        "run stored it, the replay's timings). The corpus is opened read-only.\n\n"
        "flags:\n"
        "  -c, --capture ID     export only capture ID (default: all captures;\n"
        "                       har: the latest capture)\n"
        "  -r, --run RUN        har: export run RUN (an id or a label)\n"
        "  -f, --format FORMAT  jsonl (the default) or har\n"
        "  -o, --output FILE    write to FILE instead of standard output\n"
        "                       ('-' is standard output); FILE is replaced\n"
        "                       only when the export succeeds\n"
        "  -h, --help           print this help and exit\n");
}

static int bad_flag(const char *cmd, int c, int optopt_, char **argv)
{
    const char *arg = argv[optind - 1];
    if (c == ':')
        fprintf(stderr, "reprise: %s: option '%s' needs a value; see "
                        "'reprise %s --help'\n", cmd, arg, cmd);
    else if (optopt_ && optopt_ < 128 && arg[0] == '-' && arg[1] != '-')
        fprintf(stderr, "reprise: %s: unknown option '-%c'; see "
                        "'reprise %s --help'\n", cmd, optopt_, cmd);
    else
        fprintf(stderr, "reprise: %s: unknown option '%s'; see "
                        "'reprise %s --help'\n", cmd, arg, cmd);
    return 2;
}

int corpus_cmd_ls(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char err[RP_ERRLEN];
    int ch;
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (ch == 'h') {
            ls_usage(stdout);
            return 0;
        }
        return bad_flag("ls", ch, optopt, argv);
    }
    if (argc - optind != 1) {
        fprintf(stderr, "reprise: ls: %s; usage: reprise ls CORPUS\n",
                argc - optind ? "expected one corpus file" : "no corpus file "
                "given");
        return 2;
    }
    struct corpus *c = NULL;
    int r = corpus_open(argv[optind], CORPUS_READ, &c, err);
    if (!r && (r = corpus_list(c, stdout, err)) && ferror(stdout))
        fprintf(stderr, "reprise: ls: standard output: %s\n", err);
    else if (r)
        fprintf(stderr, "reprise: ls: %s\n", err);
    corpus_close(c, NULL);
    return rp_exit_code(r);
}

/* Opens the export's output. A regular file (or a new one) is written as
 * a temporary file next to it, *tmp, renamed over it only on success, so a
 * failed export leaves an existing FILE as it was; the new file keeps the
 * old one's mode, or gets 0600 (exchanges are production traffic). Anything
 * else (a fifo, a device) is written directly and never removed. */
static int open_output(const char *output, FILE **out, char **tmp, char *err)
{
    struct stat sb;
    int exists = stat(output, &sb) == 0;
    *tmp = NULL;
    if (exists && S_ISDIR(sb.st_mode))
        return rp_fail(err, RP_EINPUT, "%s: is a directory; give a file "
                       "name to -o", output);
    if (exists && !S_ISREG(sb.st_mode)) {
        if (!(*out = fopen(output, "w")))
            return rp_fail(err, RP_EIO, "%s: cannot open: %m", output);
        return RP_OK;
    }
    size_t n = strlen(output) + 16;
    if (!(*tmp = malloc(n)))
        return rp_fail(err, RP_ENOMEM, "out of memory");
    snprintf(*tmp, n, "%s.tmp.XXXXXX", output);
    int fd = mkstemp(*tmp);
    if (fd < 0) {
        int r = rp_fail(err, RP_EIO, "%s: cannot create: %m", output);
        free(*tmp);
        *tmp = NULL;
        return r;
    }
    if (exists)
        fchmod(fd, sb.st_mode & 07777);
    if (!(*out = fdopen(fd, "w"))) {
        int r = rp_fail(err, RP_EIO, "%s: cannot create: %m", output);
        close(fd);
        unlink(*tmp);
        free(*tmp);
        *tmp = NULL;
        return r;
    }
    return RP_OK;
}

int corpus_cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"capture", required_argument, NULL, 'c'},
        {"run", required_argument, NULL, 'r'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char err[RP_ERRLEN];
    int64_t capture_id = 0;
    const char *output = NULL, *run = NULL;
    int ch, r, har = 0;
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":c:r:f:o:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            if (rp_parse_i64(optarg, "--capture", 1, INT64_MAX, &capture_id,
                             err)) {
                fprintf(stderr, "reprise: export: %s\n", err);
                return 2;
            }
            break;
        case 'r':
            run = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "jsonl") && strcmp(optarg, "har")) {
                fprintf(stderr, "reprise: export: --format: '%s' is not a "
                                "known format (jsonl or har)\n", optarg);
                return 2;
            }
            har = !strcmp(optarg, "har");
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            export_usage(stdout);
            return 0;
        default:
            return bad_flag("export", ch, optopt, argv);
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "reprise: export: %s; usage: reprise export [flags] "
                        "CORPUS\n", argc - optind ? "expected one corpus file"
                                                  : "no corpus file given");
        return 2;
    }
    if (run && !har) {
        fprintf(stderr, "reprise: export: --run needs --format har (jsonl "
                        "lists captured exchanges)\n");
        return 2;
    }
    if (run && capture_id) {
        fprintf(stderr, "reprise: export: give --capture or --run, not "
                        "both\n");
        return 2;
    }
    const char *path = argv[optind];
    struct corpus *c = NULL;
    FILE *out = stdout;
    int to_file = output && strcmp(output, "-") != 0;
    int write_failed = 0;
    char *tmp = NULL;
    r = corpus_open(path, CORPUS_READ, &c, err);
    if (!r && to_file)
        r = open_output(output, &out, &tmp, err);
    if (!r && har && run) {
        struct corpus_run_row row;
        if (!(r = corpus_run_find(c, run, &row, err)))
            r = corpus_export_har_run(c, row.id, out, err);
        write_failed = r && ferror(out);
    } else if (!r && har) {
        if (!capture_id)
            r = corpus_capture_latest(c, &capture_id, err);
        if (!r)
            r = corpus_export_har(c, capture_id, out, err);
        write_failed = r && ferror(out);
    } else if (!r) {
        r = corpus_export_jsonl(c, capture_id, out, err);
        write_failed = r && ferror(out);
    }
    if (!r && to_file) {
        int closed = fclose(out);
        out = stdout;
        if (closed != 0) {
            r = rp_fail(err, RP_EIO, "write failed: %m");
            write_failed = 1;
        } else if (tmp && rename(tmp, output) != 0) {
            r = rp_fail(err, RP_EIO, "%s: cannot rename %s to it: %m", output,
                        tmp);
        }
    }
    if (out != stdout)
        fclose(out);
    if (r && tmp)
        unlink(tmp);
    free(tmp);
    if (write_failed)
        fprintf(stderr, "reprise: export: %s: %s\n",
                to_file ? output : "standard output", err);
    else if (r)
        fprintf(stderr, "reprise: export: %s\n", err);
    corpus_close(c, NULL);
    return rp_exit_code(r);
}
