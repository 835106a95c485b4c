/*
 * corpus_cli.h: the corpus's own subcommands: `reprise ls` and `reprise
 * export` read a corpus; `reprise merge` combines the shards of a sharded
 * replay into one run (corpus_merge.c).
 */
#ifndef RP_CORPUS_CLI_H
#define RP_CORPUS_CLI_H

/* argv[0] is the subcommand name. Each returns the process exit code. */
int corpus_cmd_ls(int argc, char **argv);
int corpus_cmd_export(int argc, char **argv);
int corpus_cmd_merge(int argc, char **argv);

#endif
