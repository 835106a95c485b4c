/* corpus_cli.c: placeholder until the module lands. */
#include <stdio.h>
#include "corpus/corpus_cli.h"
int corpus_cmd_ls(int argc, char **argv) { (void)argc; fprintf(stderr, "reprise: %s: not built yet\n", argv[0]); return 1; }
int corpus_cmd_export(int argc, char **argv) { (void)argc; fprintf(stderr, "reprise: %s: not built yet\n", argv[0]); return 1; }
