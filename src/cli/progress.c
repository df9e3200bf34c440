/* progress.c - the live progress line: events sent, rates, the window of
 * requests in flight, retries, 429s, failed events and an ETA from the
 * input bytes whose lines are resolved. */
#include "progress.h"

#include "cli.h"

#include "http.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void human_duration(double secs, char *buf, size_t cap)
{
    unsigned long t = secs < 0 ? 0 : (unsigned long)secs;
    if (t >= 3600)
        snprintf(buf, cap, "%luh%02lum", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, cap, "%lum%02lus", t / 60, t % 60);
    else
        snprintf(buf, cap, "%lus", t);
}

static void draw(cli_progress_t *p)
{
    double el = al_mono_s() - p->t0;
    uint64_t done = al_live_done_bytes(p->live, 1);
    al_live_view_t v;
    char eta[32] = "?", last[320] = "";

    al_live_read(p->live, &v);
    if (v.total_bytes > 0 && done > 0 && el > 0.5)
        human_duration((double)(v.total_bytes > done ? v.total_bytes - done : 0) /
                           ((double)done / el),
                       eta, sizeof(eta));
    if (v.last_error != 0) {
        long status, os_errno;
        int code;
        char why[256];
        al_live_error_unpack(v.last_error, &status, &code, &os_errno);
        snprintf(last, sizeof(last), " | last error: %s",
                 al_http_describe(why, sizeof(why), p->url, status, code, os_errno));
    }
    fprintf(stderr,
            "%ssent %" PRIu64 " events (%.0f ev/s, %.1f MB/s) | in flight %u/%u | "
            "retries %" PRIu64 " | 429s %" PRIu64 " | failed %" PRIu64 " | ETA %s%s%s",
            p->plain ? "ampload: " : "\r\033[K", v.events_sent,
            el > 0 ? (double)v.events_sent / el : 0.0,
            el > 0 ? (double)v.bytes_sent / el / 1e6 : 0.0, (unsigned)v.in_flight,
            (unsigned)v.window, v.retries, v.http_429, v.failed, eta, last, p->plain ? "\n" : "");
    fflush(stderr);
}

static void *progress_main(void *arg)
{
    cli_progress_t *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (p->plain) {
            ts.tv_sec += 10;
        } else {
            ts.tv_nsec += 250 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
        }
        pthread_cond_timedwait(&p->cond, &p->lock, &ts);
        if (!p->stop)
            draw(p);
    }
    pthread_mutex_unlock(&p->lock);
    if (!p->plain) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    return NULL;
}

int cli_progress_start(cli_progress_t *p, al_live_t *live, const char *url, int plain)
{
    memset(p, 0, sizeof(*p));
    p->live = live;
    p->url = url;
    p->plain = plain;
    p->t0 = al_mono_s();
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    if (pthread_create(&p->tid, NULL, progress_main, p) != 0)
        return -1;
    return 0;
}

void cli_progress_stop(cli_progress_t *p)
{
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->tid, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
}
