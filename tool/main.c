/*
 * main.c: the reprise binary. It only dispatches to the subcommand of each
 * module; every subcommand parses its own flags and owns its --help.
 */
#include <stdio.h>
#include <string.h>

#include "analyze/analyze.h"
#include "capture/capture.h"
#include "common/rp.h"
#include "corpus/corpus_cli.h"
#include "replay/replay.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"capture", cap_cmd, "record HTTP/1.x (Redis, PostgreSQL, TCP) exchanges from an interface, a pcap file or a HAR"},
    {"replay", replay_cmd, "reissue a corpus against a target and record a run"},
    {"analyze", an_cmd, "compare a run with a baseline per endpoint"},
    {"show", an_show_cmd, "print one exchange, a curl command for it, or two runs' answers (--diff)"},
    {"ls", corpus_cmd_ls, "list the captures and runs in a corpus"},
    {"export", corpus_cmd_export, "write a corpus's exchanges as JSON lines, or a capture or run as HAR"},
    {"merge", corpus_cmd_merge, "combine the shards of a sharded replay into one run"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: reprise COMMAND [ARGS]\n\n"
               "Record production HTTP traffic, replay it against staging and "
               "compare releases.\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'reprise COMMAND --help' describes each command's flags.\n"
               "'reprise --version' prints the version.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("reprise %s\n", RP_VERSION);
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "reprise: unknown command '%s'; run 'reprise --help' "
                    "for the list\n", argv[1]);
    return 2;
}
