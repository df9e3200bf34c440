/* malloc_count.c - LD_PRELOAD allocation counter for the benchmark.
 *
 * Counts calls to malloc, calloc and realloc in the process and prints the
 * total to stderr at exit ("allocations=N"). bench/run.sh runs ampload on
 * two inputs of different sizes under it: if the count does not grow with the
 * number of events, nothing is allocated per event. */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h> /* the prototypes of the functions replaced here */
#include <unistd.h>

static atomic_ulong calls;
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);

/* dlsym itself may call calloc before real_calloc is known: serve it from here */
static char early[4096];
static size_t early_used;

static void resolve(void)
{
    if (real_malloc == NULL) {
        real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
        real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
        real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    }
}

void *malloc(size_t n)
{
    resolve();
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    return real_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    if (real_calloc == NULL) {
        void *p = early + early_used;
        early_used += (a * b + 15) & ~(size_t)15;
        return early_used <= sizeof(early) ? p : NULL;
    }
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    return real_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    resolve();
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    return real_realloc(p, n);
}

__attribute__((destructor)) static void report(void)
{
    char line[64];
    int k = snprintf(line, sizeof(line), "allocations=%lu\n", (unsigned long)atomic_load(&calls));
    if (write(2, line, (size_t)k) < 0)
        return;
}
