/* progress.h - the live progress line on stderr.
 *
 * On a terminal (or with --progress) a line redrawn four times a second;
 * otherwise a plain line every 10 s, with no control codes, for the logs of
 * long runs in cron or Kubernetes. It reads only the run's relaxed atomic
 * counters (al_live_t).
 *
 * Thread-safety: start and stop on the main thread; the line is drawn by a
 * thread of its own.
 */
#ifndef AL_CLI_PROGRESS_H
#define AL_CLI_PROGRESS_H

#include "stats.h"

#include <pthread.h>

typedef struct {
    al_live_t *live; /* borrowed for the life of the line */
    const char *url; /* the endpoint, named in the last error; borrowed */
    pthread_t tid;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
    int plain; /* stderr is not a terminal: a plain line every 10 s */
    double t0;
} cli_progress_t;

/* Starts drawing; the line ends with the last failed attempt's cause
 * ("last error: cannot connect to HOST:PORT: connection refused") once
 * there is one. @return 0, or -1 when the thread cannot start. */
int cli_progress_start(cli_progress_t *p, al_live_t *live, const char *url, int plain);

/* Stops drawing and clears the line. */
void cli_progress_stop(cli_progress_t *p);

#endif
