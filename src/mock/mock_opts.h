/* mock_opts.h - ampload-mock's options: what its command line asked for,
 * fixed before the server starts, and the table (opt.h) they are parsed,
 * listed in --help and written into its man page and the README with. */
#ifndef AL_MOCK_OPTS_H
#define AL_MOCK_OPTS_H

#include "export.h"
#include "opt.h"

#include <stddef.h>
#include <stdint.h>

#define MOCK_DEFAULT_MAX_BODY 20000000u /* Amplitude's 20 MB request limit */

typedef struct {
    unsigned port, exit_after;
    const char *tls_cert, *tls_key; /* PEM files, or NULL */
    /* /batch and /identify */
    const char *api_key; /* the only key accepted, or NULL (any non-empty one) */
    size_t max_body;
    double eps_per_id; /* 0: no per-id rate limit */
    unsigned eps_window;
    uint64_t daily_quota; /* 0: none */
    double fail_rate, drop_rate;
    int fail_status; /* 0: a 500/502/503/504 mix */
    unsigned latency_ms;
    unsigned retry_after; /* 0: no Retry-After */
    const char *reject_event_type;
    int first_invalid_only;
    int no_gzip;       /* ignore Content-Encoding */
    const char *bogus; /* --bogus-200 html|empty|code400, or NULL */
    int echo_key_pad;  /* -1, or: a wrong key's error repeats it after this many bytes */
    const char *record;
    int sink;
    uint64_t seed;
    /* the project store and the export */
    mock_store_opts_t store;
    uint64_t export_504_first, export_empty_zip;
    const char *export_504_hour; /* YYYYMMDDTHH, or NULL */
} mock_args_t;

/* @return the mock's option table. */
const cli_optable_t *mock_options(void);

/* Fills a with the defaults, then reads the command line into it (help
 * printed on -h). @return -1 to go on, or the exit code. */
int mock_parse_args(mock_args_t *a, int argc, char **argv);

#endif
