/*
 * analyze.h: public entry of the analyze module: `reprise analyze` compares
 * a run with a baseline per endpoint and reports, `reprise show` prints one
 * exchange.
 */
#ifndef RP_ANALYZE_H
#define RP_ANALYZE_H

/* Runs `reprise analyze ARGS`; argv[0] is "analyze". Returns the exit code:
 * 0 pass, 1 a --fail-if condition held (or runtime failure), 2 bad input. */
int an_cmd(int argc, char **argv);
/* Runs `reprise show DB ID [--curl]`; argv[0] is "show". */
int an_show_cmd(int argc, char **argv);

#endif
