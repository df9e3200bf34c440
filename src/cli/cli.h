/* cli.h - what the parts of the ampload command share: exit codes, and the
 * entry points of `ampload check` (check.c) and the metrics server
 * (metrics.c). Only src/cli prints or decides exit codes.
 */
#ifndef AL_CLI_H
#define AL_CLI_H

#include "../core/send.h"
#include "../core/stats.h"

#include <stdint.h>
#include <stdio.h>

enum {
    EXIT_OK = 0,
    EXIT_INTERNAL = 1, /* out of memory, unwritable state directory, ... */
    EXIT_USAGE = 2,
    EXIT_INPUT = 3,       /* an input could not be read, or broke while being read */
    EXIT_CONFIG = 4,      /* no API key, or the server refused key, region or URL */
    EXIT_FAILED = 5,      /* some events could not be delivered: see the failed file */
    EXIT_INTERRUPTED = 6, /* stopped by SIGINT/SIGTERM; the same command resumes */
};

/* mkdir -p with mode 0700. *created (may be NULL) gets how many directories
 * this call made: always the last ones of the path. @return 0 or -1 with errno. */
int cli_make_dirs(const char *path, int *created);

/* Removes the last `created` directories of path again (if still empty). */
void cli_remove_created_dirs(const char *path, int created);

/* What `ampload check` looks at. */
typedef struct {
    const al_send_opts_t *send; /* endpoint, timeouts, TLS settings */
    const char *api_key;        /* "" = none configured */
    const char *const *paths;   /* inputs; may be empty */
    uint32_t npaths;
    const char *state_dir; /* NULL: not checked */
    const char *shard;     /* --shard as "I/N", or NULL: whose checkpoint */
    int gzip_level;        /* --gzip: the test request goes compressed too */
    int color;             /* ANSI colours for the marks */
    FILE *out;
} cli_check_opts_t;

/* Runs the preflight checks, prints one line per check with a hint under
 * each failure, and a last line with the count.
 * @return EXIT_OK when every check passed; else the exit code of the first
 * failure: EXIT_CONFIG (endpoint, TLS, key), EXIT_INPUT (an input),
 * EXIT_USAGE (the checkpoint does not match), EXIT_INTERNAL (state directory). */
int cli_check(const cli_check_opts_t *o);

/* What the metrics endpoint shows besides the live counters. */
typedef struct {
    al_live_t *live;
    const char *endpoint; /* the URL events go to */
    const char *state_dir;
    int sending; /* 0 in a dry run */
    double t0;   /* CLOCK_MONOTONIC seconds at the start of the run */
} cli_metrics_opts_t;

typedef struct cli_metrics cli_metrics_t;

/* Serves GET /metrics (Prometheus text format) and GET /status (JSON) on
 * 127.0.0.1:port from a thread of its own until cli_metrics_stop().
 * Port 0 picks a free port. @return the server, or NULL with a message on
 * stderr (port in use). */
cli_metrics_t *cli_metrics_start(unsigned port, const cli_metrics_opts_t *o);

/* @return the port it listens on (the chosen one when started with 0). */
unsigned cli_metrics_port(const cli_metrics_t *m);

/* Marks the run finished (state "done" or "interrupted"), so a last scrape
 * sees the final figures. */
void cli_metrics_finish(cli_metrics_t *m, const char *state);

/* Stops serving and frees. NULL is ignored. */
void cli_metrics_stop(cli_metrics_t *m);

#endif
