/*
 * riskctl.h - entry points of riskctl's commands. Each takes the command's own argv
 * (argv[0] is the command name) and returns the process exit code: 0 success, 1 failure,
 * 2 usage error.
 */
#ifndef RISKD_RISKCTL_H
#define RISKD_RISKCTL_H

/* riskctl produce: publish JSONL from stdin to Kafka (tools/riskctl_produce.c). */
int produce_main(int argc, char **argv);

#endif
