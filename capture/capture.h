/*
 * capture.h: public entry of the capture module: `reprise capture` reads
 * packets (live or from a pcap/pcapng file), rebuilds TCP streams and
 * HTTP/1.x exchanges, redacts secrets and writes them to a corpus.
 */
#ifndef RP_CAPTURE_H
#define RP_CAPTURE_H

/* Runs `reprise capture ARGS`; argv[0] is "capture". Returns the exit code. */
int cap_cmd(int argc, char **argv);

#endif
