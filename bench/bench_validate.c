/* bench_validate.c - the validator alone, on a file already in memory.
 *
 * Maps the file with its pages populated, splits it between T threads at
 * newline boundaries, and times only the per-line loop (find the newline,
 * al_event_check). This isolates the scanner from reading, batching and the
 * page cache, which bench/run.sh measures around it.
 *
 * Usage: bench_validate FILE [THREADS]     (AMPLOAD_SIMD=avx2|sse2|scalar picks
 *                                          the scanner variant; default: best)
 * Prints: threads=T simd=NAME lines=N valid=V bytes=B seconds=S mb_per_s=X
 */
#include "json.h"
#include "validate.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *p, *end;
    uint64_t lines, valid;
    pthread_t tid;
} part_t;

static al_rules_t rules;

static void *validate_part(void *arg)
{
    part_t *w = arg;
    const char *p = w->p;
    al_event_t ev;
    al_reason_t why;
    while (p < w->end) {
        const char *nl = memchr(p, '\n', (size_t)(w->end - p));
        const char *le = nl ? nl : w->end;
        w->lines++;
        w->valid += (uint64_t)al_event_check(p, (size_t)(le - p), &rules, &ev, &why);
        p = nl ? nl + 1 : w->end;
    }
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int fd, threads = argc > 2 ? atoi(argv[2]) : 1;
    struct stat st;
    const char *m;
    part_t parts[64];
    uint64_t lines = 0, valid = 0;
    double t0, t1;

    if (argc < 2 || threads < 1 || threads > 64) {
        fprintf(stderr, "usage: bench_validate FILE [THREADS]\n");
        return 2;
    }
    fd = open(argv[1], O_RDONLY);
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(argv[1]);
        return 1;
    }
    m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (m == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    al_rules_init(&rules);
    if (getenv("AMPLOAD_SIMD") != NULL && al_json_use_simd(getenv("AMPLOAD_SIMD")) != 0) {
        fprintf(stderr, "bench_validate: AMPLOAD_SIMD=%s: not available here\n",
                getenv("AMPLOAD_SIMD"));
        return 2;
    }
    for (int i = 0; i < threads; i++) {
        const char *start = i == 0 ? m : parts[i - 1].end;
        const char *end = m + (size_t)st.st_size * (size_t)(i + 1) / (size_t)threads;
        if (i + 1 < threads) {
            const char *nl = memchr(end, '\n', (size_t)(m + st.st_size - end));
            end = nl ? nl + 1 : m + st.st_size;
        } else {
            end = m + st.st_size;
        }
        parts[i] = (part_t){.p = start, .end = end};
    }
    t0 = now();
    for (int i = 0; i < threads; i++)
        pthread_create(&parts[i].tid, NULL, validate_part, &parts[i]);
    for (int i = 0; i < threads; i++) {
        pthread_join(parts[i].tid, NULL);
        lines += parts[i].lines;
        valid += parts[i].valid;
    }
    t1 = now();
    printf("threads=%d simd=%s lines=%llu valid=%llu bytes=%lld seconds=%.4f mb_per_s=%.0f\n",
           threads, al_json_simd(), (unsigned long long)lines, (unsigned long long)valid,
           (long long)st.st_size, t1 - t0, (double)st.st_size / (t1 - t0) / 1e6);
    return 0;
}
