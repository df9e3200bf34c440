/* state.c - the state directory: its default name, taking it before anything
 * in it is touched, and the decision between a fresh start and a resume.
 *
 * Order matters: inputs given twice or that the run would overwrite are
 * refused first (nothing touched), then the directory is locked, then a
 * rollback a crash interrupted is finished or discarded, and only then is
 * the checkpoint read and the reject and failed files rolled back to it.
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

/* The files a run keeps in its state directory, with what each is: one
 * list for the check of the inputs (cli_take_state_dir) and of --report and
 * --audit (cli_outputs_ok). lock[cap] receives the lock file's name. */
enum { STATE_FILES = 8 };
static void state_outputs(const cli_run_t *r, char *lock, size_t cap, const char **files,
                          const char **roles)
{
    static const char *const names[STATE_FILES] = {
        "reject file", "failed file", "failed file's index",        "checkpoint",
        "lock file",   "journal",     "held file (non-idempotent)", "held file's index"};
    const char *paths[STATE_FILES] = {
        r->reject_buf, r->failed_buf,  r->index_buf, r->checkpoint_buf,
        lock,          r->journal_buf, r->held_buf,  r->held_index_buf};
    snprintf(lock, cap, "%s/lock", r->set->state_dir);
    for (int i = 0; i < STATE_FILES; i++) {
        files[i] = paths[i];
        roles[i] = names[i];
    }
}

int cli_outputs_ok(const cli_run_t *r)
{
    const cli_settings_t *s = r->set;
    char lock[PATH_MAX + 32];
    const char *files[STATE_FILES + 3], *roles[STATE_FILES + 3];
    size_t n = STATE_FILES;
    state_outputs(r, lock, sizeof(lock), files, roles);
    if (r->derived_buf[0] != '\0') { /* identify --from amplitude-export names it later */
        files[n] = r->derived_buf;
        roles[n++] = "derived identifications";
    }
    files[n] = s->api_key_file;
    roles[n++] = "--api-key-file";
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

int cli_take_state_dir(cli_run_t *r)
{
    const cli_settings_t *s = r->set;
    char lock_path[PATH_MAX + 32];
    const char *outputs[STATE_FILES + 2];
    const char *roles[STATE_FILES + 2];
    al_diag_t d;
    al_err_t err;

    snprintf(r->reject_buf, sizeof(r->reject_buf), "%s/rejected.ndjson", s->state_dir);
    snprintf(r->failed_buf, sizeof(r->failed_buf), "%s/failed.ndjson", s->state_dir);
    snprintf(r->index_buf, sizeof(r->index_buf), "%s/failed.index", s->state_dir);
    snprintf(r->checkpoint_buf, sizeof(r->checkpoint_buf), "%s/checkpoint", s->state_dir);
    snprintf(r->held_buf, sizeof(r->held_buf), "%s/non-idempotent.ndjson", s->state_dir);
    snprintf(r->held_index_buf, sizeof(r->held_index_buf), "%s/non-idempotent.index", s->state_dir);
    snprintf(r->journal_buf, sizeof(r->journal_buf), "%s/identify.journal", s->state_dir);
    state_outputs(r, lock_path, sizeof(lock_path), outputs, roles);
    outputs[STATE_FILES] = s->report_path;
    roles[STATE_FILES] = "--report file";
    outputs[STATE_FILES + 1] = s->audit_path;
    roles[STATE_FILES + 1] = "--audit file";
    err =
        al_pipeline_check_paths(s->pipe.paths, s->pipe.npaths, outputs, roles, STATE_FILES + 2, &d);
    if (err != AL_ERR_OK) {
        cli_print_error(err, &d);
        return cli_exit_code(err);
    }
    if (cli_make_dirs(s->state_dir, NULL) != 0) {
        fprintf(stderr, "ampload: cannot create state directory %s: %s\n", s->state_dir,
                strerror(errno));
        fprintf(stderr, "  hint: %s\n", al_errhint(AL_ERR_STATE_DIR));
        return EXIT_INTERNAL;
    }
    err = al_state_lock(s->state_dir, &r->lock, &d);
    if (err == AL_ERR_OK) {
        al_state_files_t files = cli_state_files(r);
        err = al_ckpt_recover(r->checkpoint_buf, &files, &d);
    }
    if (err != AL_ERR_OK) {
        cli_print_error(err, &d);
        return cli_exit_code(err);
    }
    return 0;
}

al_state_files_t cli_state_files(const cli_run_t *r)
{
    return (al_state_files_t){r->reject_buf, r->failed_buf, r->index_buf, r->held_buf,
                              r->held_index_buf};
}

/* A fresh identify run still reads the journal: a run killed before its
 * first checkpoint may have had identifications acknowledged or in flight. */
static int fresh_identify(cli_run_t *r)
{
    al_diag_t d;
    al_err_t err;
    for (uint32_t i = 0; i < r->pipe.npaths; i++)
        r->marks[i] = (al_mark_t){0, 1, 0, 0};
    err = al_jset_load(r->journal_buf, r->marks, r->pipe.npaths, &r->jset, &d);
    if (err != AL_ERR_OK) {
        cli_print_error(err, &d);
        return err == AL_ERR_JOURNAL_CORRUPT ? cli_exit_code(err) : EXIT_INTERNAL;
    }
    r->pipe.journal_set = r->jset;
    return 0;
}

int cli_prepare_resume(cli_run_t *r)
{
    const cli_settings_t *s = r->set;
    al_state_files_t files;
    al_diag_t d;
    al_err_t err;
    uint64_t done_lines = 0;

    if (r->from_stream)
        return 0; /* a stream cannot be resumed: no checkpoint */
    r->pipe.checkpoint_path = r->checkpoint_buf;
    if (s->restart) {
        unlink(r->checkpoint_buf);
        unlink(r->journal_buf);
        return 0;
    }
    r->marks = calloc(r->pipe.npaths, sizeof(*r->marks));
    if (r->marks == NULL)
        return EXIT_INTERNAL;
    err = al_ckpt_load(r->checkpoint_buf, r->pipe.paths,
                       r->pipe.sources != NULL ? r->pipe.sources->files : NULL, r->pipe.npaths,
                       s->shard_label[0] ? s->shard_label : NULL, r->marks, &d);
    if (err == AL_ERR_NOT_FOUND)
        return s->identify ? fresh_identify(r) : 0;
    if (err != AL_ERR_OK) {
        cli_print_error(err, &d);
        fprintf(stderr, "  (checkpoint: %s)\n", r->checkpoint_buf);
        return cli_exit_code(err);
    }
    files = cli_state_files(r);
    err = al_ckpt_rollback(r->checkpoint_buf, &files, r->pipe.paths, r->pipe.npaths, r->marks, &d);
    if (err == AL_ERR_OK && s->identify)
        err = al_jset_load(r->journal_buf, r->marks, r->pipe.npaths, &r->jset, &d);
    if (err != AL_ERR_OK) {
        cli_print_error(err, &d);
        return err == AL_ERR_JOURNAL_CORRUPT ? cli_exit_code(err) : EXIT_INTERNAL;
    }
    r->pipe.journal_set = r->jset;
    for (uint32_t i = 0; i < r->pipe.npaths; i++)
        done_lines += r->marks[i].line - 1;
    r->pipe.start = r->marks;
    r->pipe.resume_files = 1;
    r->resumed = 1;
    if (!s->quiet)
        fprintf(stderr, "ampload: resuming from %s: %" PRIu64 " lines already done\n",
                r->checkpoint_buf, done_lines);
    return 0;
}
