/* replay_cli.c: placeholder until the module lands. */
#include <stdio.h>
#include "replay/replay.h"
int replay_cmd(int argc, char **argv) { (void)argc; fprintf(stderr, "reprise: %s: not built yet\n", argv[0]); return 1; }
