/* an_cli.c: placeholder until the module lands. */
#include <stdio.h>
#include "analyze/analyze.h"
int an_cmd(int argc, char **argv) { (void)argc; fprintf(stderr, "reprise: %s: not built yet\n", argv[0]); return 1; }
int an_show_cmd(int argc, char **argv) { (void)argc; fprintf(stderr, "reprise: %s: not built yet\n", argv[0]); return 1; }
