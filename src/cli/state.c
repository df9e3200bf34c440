/* state.c - the state directory as the command uses it: its default name,
 * and the messages around taking and resuming it.
 *
 * The state directory itself (its files, lock, recovery, the resume
 * decision) is core/statedir.h. What is decided here: inputs given twice
 * or that the run would overwrite are refused before the directory is
 * even created, and --report, --audit and the key file are kept apart
 * from the state's files.
 */
#include "state.h"

#include "pipeline.h"
#include "run.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_default_state_dir(cli_settings_t *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over the absolute input paths */
    const char *first = s->pipe.paths[0];
    const char *base = strrchr(first, '/') ? strrchr(first, '/') + 1 : first;
    char name[64];
    size_t n = 0;

    for (uint32_t i = 0; i < s->pipe.npaths; i++) {
        char abs[PATH_MAX];
        const char *p = s->pipe.paths[i];
        if (strcmp(p, "-") != 0 && realpath(p, abs) != NULL)
            p = abs;
        for (; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        h = (h ^ 0xFF) * 1099511628211ULL;
    }
    if (strcmp(first, "-") == 0)
        base = "stdin";
    for (; *base && n < 40; base++)
        name[n++] = (isalnum((unsigned char)*base) || *base == '.' || *base == '_' || *base == '-')
                        ? *base
                        : '_';
    name[n] = '\0';
    /* identify keeps its own: its journal and held file are no load's */
    snprintf(s->state_buf, sizeof(s->state_buf), ".ampload/%s%s-%08" PRIx32,
             s->identify ? "identify-" : "", name, (uint32_t)(h ^ (h >> 32)));
    if (s->pipe.shard_count > 1)
        snprintf(s->state_buf + strlen(s->state_buf), sizeof(s->state_buf) - strlen(s->state_buf),
                 "-shard-%" PRIu32 "-of-%" PRIu32, s->pipe.shard_index, s->pipe.shard_count);
    s->state_dir = s->state_buf;
}

/* Adds the files a run keeps (the state's own, the identifications
 * derived from an export and their list, the key file) to files[]/roles[]
 * from *n on. */
static void kept_files(const cli_run_t *r, const char **files, const char **roles, size_t *n)
{
    static const al_state_file_t derived[] = {AL_STATE_DERIVED, AL_STATE_DERIVED_INPUTS};
    *n += al_state_kept(r->state, files + *n, roles + *n);
    for (size_t i = 0; i < 2; i++, (*n)++) {
        files[*n] = al_state_path(r->state, derived[i]);
        roles[*n] = al_state_role(derived[i]);
    }
    files[*n] = r->set->api_key_file;
    roles[(*n)++] = "--api-key-file";
}

int cli_outputs_ok(const cli_run_t *r)
{
    const cli_settings_t *s = r->set;
    const char *files[AL_STATE_KEPT + 4], *roles[AL_STATE_KEPT + 4];
    size_t n = 0;
    kept_files(r, files, roles, &n);
    if (s->report_path != NULL &&
        (!cli_output_path_ok("ampload", "--report", s->report_path) ||
         !cli_output_not_taken("ampload", "--report", s->report_path, files, roles, n)))
        return 0;
    files[n] = s->report_path;
    roles[n++] = "--report file";
    return s->audit_path == NULL ||
           (cli_output_path_ok("ampload", "--audit", s->audit_path) &&
            cli_output_not_taken("ampload", "--audit", s->audit_path, files, roles, n));
}

/* Prints err and @return its exit code. */
static int state_error(al_err_t err, const al_diag_t *d)
{
    cli_print_error(err, d);
    return cli_exit_code(err);
}

int cli_take_state_dir(cli_run_t *r)
{
    const cli_settings_t *s = r->set;
    const char *outputs[AL_STATE_KEPT + 2], *roles[AL_STATE_KEPT + 2];
    uint32_t n;
    al_diag_t d;
    al_err_t err;

    err = al_state_new(s->state_dir, &r->state, &d);
    if (err != AL_ERR_OK)
        return state_error(err, &d);
    n = al_state_kept(r->state, outputs, roles);
    outputs[n] = s->report_path;
    roles[n++] = "--report file";
    outputs[n] = s->audit_path;
    roles[n++] = "--audit file";
    err = al_pipeline_check_paths(s->pipe.paths, s->pipe.npaths, outputs, roles, n, &d);
    if (err != AL_ERR_OK)
        return state_error(err, &d);
    if (cli_make_dirs(s->state_dir, NULL) != 0) {
        fprintf(stderr, "ampload: cannot create state directory %s: %s\n", s->state_dir,
                strerror(errno));
        fprintf(stderr, "  hint: %s\n", al_errhint(AL_ERR_STATE_DIR));
        return EXIT_INTERNAL;
    }
    err = al_state_take(r->state, &d);
    return err == AL_ERR_OK ? 0 : state_error(err, &d);
}

int cli_prepare_resume(cli_run_t *r)
{
    const cli_settings_t *s = r->set;
    al_resume_opts_t o = {
        .names = r->pipe.paths,
        .files = r->pipe.sources != NULL ? r->pipe.sources->files : NULL,
        .n = r->pipe.npaths,
        .shard = s->shard_label[0] ? s->shard_label : NULL,
        .stream = r->from_stream,
        .restart = s->restart,
        .identify = s->identify,
    };
    int in_checkpoint;
    al_diag_t d;
    al_err_t err = al_state_resume(r->state, &o, &in_checkpoint, &d);

    if (err != AL_ERR_OK) {
        cli_print_error(err, &d);
        if (in_checkpoint) {
            fprintf(stderr, "  (checkpoint: %s)\n", al_state_path(r->state, AL_STATE_CHECKPOINT));
            return cli_exit_code(err);
        }
        return err == AL_ERR_JOURNAL_CORRUPT ? cli_exit_code(err) : EXIT_INTERNAL;
    }
    if (al_state_resumed(r->state) && !s->quiet)
        fprintf(stderr, "ampload: resuming from %s: %" PRIu64 " lines already done\n",
                al_state_path(r->state, AL_STATE_CHECKPOINT), al_state_lines_done(r->state));
    return 0;
}
