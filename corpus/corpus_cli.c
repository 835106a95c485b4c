/*
 * corpus_cli.c: the subcommands that only read a corpus: `reprise ls DB`
 * lists captures and runs, `reprise export DB` writes exchanges as JSON
 * lines. Each parses its own flags with getopt_long, prints one stderr line
 * per error and returns the exit code (2 for usage or bad input, 1 for a
 * runtime failure).
 */
#include "corpus/corpus_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
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
        "usage: reprise export [--capture ID] [--format jsonl] [-o FILE] "
        "CORPUS\n\n"
        "Write the captured exchanges of the corpus file CORPUS as JSON lines,\n"
        "one object per exchange in request order (keys are documented in\n"
        "corpus/SCHEMA.md). Bodies are not included. The corpus is opened\n"
        "read-only.\n\n"
        "flags:\n"
        "  -c, --capture ID     export only capture ID (default: all captures)\n"
        "  -f, --format FORMAT  output format; only 'jsonl' (the default)\n"
        "  -o, --output FILE    write to FILE instead of standard output\n"
        "                       ('-' is standard output); FILE is removed\n"
        "                       again if the export fails\n"
        "  -h, --help           print this help and exit\n");
}

/* Reports an unknown flag or a missing flag value: one line, exit 2. */
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
    if (!r)
        r = corpus_list(c, stdout, err);
    if (r)
        fprintf(stderr, "reprise: ls: %s\n", err);
    corpus_close(c, NULL);
    return rp_exit_code(r);
}

int corpus_cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"capture", required_argument, NULL, 'c'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char err[RP_ERRLEN];
    int64_t capture_id = 0;
    const char *output = NULL;
    int ch, r;
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":c:f:o:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            if (rp_parse_i64(optarg, "--capture", 1, INT64_MAX, &capture_id,
                             err)) {
                fprintf(stderr, "reprise: export: %s\n", err);
                return 2;
            }
            break;
        case 'f':
            if (strcmp(optarg, "jsonl") != 0) {
                fprintf(stderr, "reprise: export: --format: '%s' is not a "
                                "known format (only 'jsonl')\n", optarg);
                return 2;
            }
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
    const char *path = argv[optind];
    struct corpus *c = NULL;
    FILE *out = stdout;
    int to_file = output && strcmp(output, "-") != 0;
    r = corpus_open(path, CORPUS_READ, &c, err);
    if (!r && to_file && !(out = fopen(output, "w"))) {
        r = rp_fail(err, RP_EIO, "%s: cannot create: %m", output);
        out = stdout;
        to_file = 0;
    }
    if (!r)
        r = corpus_export_jsonl(c, capture_id, out, err);
    if (to_file) {
        if (fclose(out) != 0 && !r)
            r = rp_fail(err, RP_EIO, "%s: write failed: %m", output);
        if (r)
            unlink(output);
    }
    if (r)
        fprintf(stderr, "reprise: export: %s\n", err);
    corpus_close(c, NULL);
    return rp_exit_code(r);
}
