/* cli.h — what every `sbir COMMAND` shares.
 *
 * A command is `int cmd_NAME(int argc, char **argv)` with argv[0] = "NAME"; it returns the process exit
 * status. It prints its usage for -h/--help (exit 0), and on failure prints one line
 * "sbir: <reason>" to stderr and returns non-zero (cli_fail does both). Options are parsed with
 * getopt_long; cli_usage_error() is for bad command lines (exit 2). */
#ifndef SBIR_CLI_H
#define SBIR_CLI_H

#include <getopt.h>

#include "data/import_bam.h"
#include "util/common.h"

/* Prints "sbir: <formatted>" and returns 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "sbir: <sbir_last_error()>" and returns 1. */
int cli_fail_last(void);
/* Prints "sbir CMD: <msg>" and "try 'sbir CMD --help'", returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True if argv holds -h or --help (before any "--"). */
int cli_wants_help(int argc, char **argv);
/* Parses a whole decimal integer / float option value within [lo, hi]; on error prints a usage
 * error naming the option and returns -1. */
int cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int cli_parse_float(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);

/* Splits "a,b,c" in place into at most max names; -1 when there are more. */
int cli_split_list(char *s, const char **out, int max);
/* --labels crowd | automatic | scores:T (BAM!): 0, or a usage error (exit status 2) already printed. */
int cli_parse_bam_labels(const char *cmd, const char *arg, import_bam_labels *labels, double *threshold);

#endif
