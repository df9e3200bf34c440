/* signals.c - SIGINT, SIGTERM and SIGHUP, taken by one thread with sigwait.
 *
 * The first asks the run to stop cleanly (drain, checkpoint); a second ends
 * the process at once - the checkpoint on disk is still valid, because it is
 * only ever replaced atomically. The signals are blocked in every other
 * thread, so none of them is interrupted in the middle of a write.
 */
#include "run.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

/* The signals that stop a run. */
static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
}

static void *signal_main(void *arg)
{
    cli_run_t *r = arg;
    sigset_t set;
    int sig;
    stop_signals(&set);
    sigwait(&set, &sig);
    atomic_store(&r->stop, 1);
    fprintf(stderr,
            "\nampload: %s: finishing the requests in flight and saving the checkpoint "
            "(again to quit at once)\n",
            sig == SIGINT   ? "interrupted"
            : sig == SIGHUP ? "hung up"
                            : "terminated");
    sigwait(&set, &sig);
    fprintf(stderr, "ampload: stopped at once; %s\n", cli_resume_hint(r));
    _exit(EXIT_INTERRUPTED);
    return NULL;
}

void cli_signals_start(cli_run_t *r)
{
    sigset_t sigs;
    pthread_t tid;
    /* every thread started from here on leaves these signals to signal_main */
    stop_signals(&sigs);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    if (pthread_create(&tid, NULL, signal_main, r) == 0)
        pthread_detach(tid);
}
