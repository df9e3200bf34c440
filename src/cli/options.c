/* options.c - what the load, check and identify do with their options:
 * the defaults of each command, the table's parse (optable.c, opt.h), then
 * what needs every option at once (the URL by the one rule, the event size
 * against the body, {shard} in paths, the default state directory), and
 * cli_settle, which every one of them does first. Nothing here exits: help
 * and version requests are printed and returned to the caller.
 */
#include "cli.h"

#include "batch.h"
#include "state.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Identifications per request by default: see README (Identify). */
#define IDENTIFY_BATCH_DEFAULT 1000
/* Identify's JSON per request at most, so that its form (up to 3 bytes per
 * byte, percent-encoded) stays within the 20 MB a /batch body may have. */
#define IDENTIFY_BATCH_BYTES 6500000u

#define usage_error(s, ...) cli_opt_error(cli_options(), 1u << (s)->mode, __VA_ARGS__)

static void defaults(cli_settings_t *s, int mode)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    memset(s, 0, sizeof(*s));
    al_pipeline_opts_init(&s->pipe);
    al_send_opts_init(&s->send);
    s->mode = mode;
    s->check = mode == CLI_MODE_CHECK;
    s->identify = mode == CLI_MODE_IDENTIFY;
    s->pipe.insert_ids = !s->identify; /* Identify has no insert_id */
    if (s->identify) {
        s->pipe.identify = 1;
        s->send.kind = &al_req_identify;
        s->pipe.batch.form = 1;
        s->pipe.batch.max_events = IDENTIFY_BATCH_DEFAULT;
        s->pipe.batch.max_bytes = IDENTIFY_BATCH_BYTES;
        s->send.throttle_wait_ms = 15000; /* what Amplitude asks of a throttled id */
        snprintf(s->send.url, sizeof(s->send.url), "%s", AL_DEFAULT_IDENTIFY_ENDPOINT);
    }
    s->pipe.threads = (uint32_t)(cores < 1 ? 1 : cores > AL_MAX_THREADS ? AL_MAX_THREADS : cores);
    s->progress = -1;
    s->metrics_port = -1;
}

/* Replaces "{shard}" in --state and --report with "I-of-N" (or "all"), so
 * copies that share a command line write to files of their own. */
static int fill_shard_names(cli_settings_t *s)
{
    static char state[PATH_MAX], report[PATH_MAX];
    const char *paths[2] = {s->state_dir, s->report_path};
    char *bufs[2] = {state, report};
    char shard[48];
    if (s->pipe.shard_count > 1)
        snprintf(shard, sizeof(shard), "%" PRIu32 "-of-%" PRIu32, s->pipe.shard_index,
                 s->pipe.shard_count);
    else
        snprintf(shard, sizeof(shard), "all");
    for (int k = 0; k < 2; k++) {
        const char *at = paths[k] != NULL ? strstr(paths[k], "{shard}") : NULL;
        if (at == NULL)
            continue;
        if ((size_t)snprintf(bufs[k], PATH_MAX, "%.*s%s%s", (int)(at - paths[k]), paths[k], shard,
                             at + 7) >= PATH_MAX)
            return usage_error(s, "%s is too long", k == 0 ? "--state" : "--report");
    }
    if (s->state_dir != NULL && strstr(s->state_dir, "{shard}") != NULL)
        s->state_dir = state;
    if (s->report_path != NULL && strstr(s->report_path, "{shard}") != NULL)
        s->report_path = report;
    return 0;
}

/* The URL, by the one rule of every command (endpoint.c). */
static int resolve_url(cli_settings_t *s)
{
    static const cli_api_urls_t batch = {AL_DEFAULT_ENDPOINT, AL_EU_ENDPOINT, "batch"};
    static const cli_api_urls_t identify = {AL_DEFAULT_IDENTIFY_ENDPOINT, AL_EU_IDENTIFY_ENDPOINT,
                                            "identify"};
    return cli_resolve_url(s->send.url, sizeof(s->send.url), s->endpoint_arg, s->region_arg,
                           s->identify ? &identify : &batch, s->quiet, &s->url_source);
}

/* The checks that need every option: the event size against the body. */
static int check_combination(cli_settings_t *s)
{
    al_pipeline_opts_t *p = &s->pipe;
    size_t env = al_batch_envelope_bytes(&p->batch);
    if (!s->max_event_set && p->rules.max_event_bytes + env > p->batch.max_bytes)
        p->rules.max_event_bytes = (uint32_t)(p->batch.max_bytes - env);
    if (p->rules.max_event_bytes + env > p->batch.max_bytes)
        return usage_error(s,
                           "--max-event-bytes must be at most %zu (--batch-bytes less the "
                           "request envelope)",
                           p->batch.max_bytes - env);
    return 0;
}

/* AMPLITUDE_DEBUG=1 is -v (the variable Amplitude's own tools read). */
static int debug_env(cli_settings_t *s)
{
    const char *dbg = getenv("AMPLITUDE_DEBUG");
    if (dbg == NULL || dbg[0] == '\0' || strcmp(dbg, "0") == 0 || strcmp(dbg, "false") == 0)
        return 0;
    if (strcmp(dbg, "1") == 0 || strcmp(dbg, "true") == 0) {
        s->verbose = 1;
        return 0;
    }
    fprintf(stderr, "ampload: AMPLITUDE_DEBUG: '%s' is not 1 or 0\n", dbg);
    return EXIT_USAGE;
}

int cli_parse_options(cli_settings_t *s, int argc, char **argv, int mode)
{
    int first = argc, rc;

    defaults(s, mode);
    rc = debug_env(s);
    if (rc == 0)
        rc = cli_opt_parse(cli_options(), 1u << mode, s, argc, argv, &first);
    if (rc != 0)
        return rc;
    if (first >= argc && !s->check)
        return usage_error(s, "no input files (give FILE... or '-' for standard input)");
    rc = resolve_url(s);
    if (rc == 0)
        rc = check_combination(s);
    if (rc != 0)
        return rc;
    s->pipe.paths = (const char *const *)(argv + first);
    s->pipe.npaths = (uint32_t)(argc - first);
    if (al_edits_active(&s->edits))
        s->pipe.edits = &s->edits;
    if (s->pipe.shard_count > 1) {
        snprintf(s->shard, sizeof(s->shard), "%" PRIu32 "/%" PRIu32, s->pipe.shard_index,
                 s->pipe.shard_count);
        snprintf(s->shard_label, sizeof(s->shard_label), "%s%s", s->shard,
                 s->shard_by_device ? " by device" : "");
    }
    rc = fill_shard_names(s);
    if (rc != 0)
        return rc;
    if (s->state_dir == NULL && s->pipe.npaths > 0)
        cli_default_state_dir(s);
    return CLI_PARSED;
}

int cli_settle(cli_settings_t *s, int argc, char **argv, int mode, int *rc)
{
    *rc = cli_parse_options(s, argc, argv, mode);
    if (*rc == CLI_HELP || *rc == CLI_VERSION) {
        if (*rc == CLI_VERSION)
            cli_version(stdout);
        else
            cli_help(stdout, mode);
        *rc = EXIT_OK;
        return 0;
    }
    if (*rc == 0)
        *rc = cli_object_store(s);
    if (*rc == 0)
        *rc = cli_load_key(s);
    if (*rc != 0)
        return 0;
    if (s->send.insecure && !s->quiet)
        fprintf(stderr, "ampload: warning: --insecure: TLS certificates are not verified\n");
    return 1;
}
