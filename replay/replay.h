/*
 * replay.h: public entry of the replay module: `reprise replay` reissues a
 * corpus's exchanges against a target with libcurl and records a run.
 */
#ifndef RP_REPLAY_H
#define RP_REPLAY_H

/* Runs `reprise replay ARGS`; argv[0] is "replay". Returns the exit code. */
int replay_cmd(int argc, char **argv);

#endif
