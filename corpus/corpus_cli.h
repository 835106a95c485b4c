/*
 * corpus_cli.h: the subcommands that only read a corpus: `reprise ls` and
 * `reprise export`.
 */
#ifndef RP_CORPUS_CLI_H
#define RP_CORPUS_CLI_H

/* argv[0] is the subcommand name. Each returns the process exit code. */
int corpus_cmd_ls(int argc, char **argv);
int corpus_cmd_export(int argc, char **argv);

#endif
