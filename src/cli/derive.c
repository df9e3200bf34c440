/* derive.c - `ampload identify --from amplitude-export`: one identification
 * per user from the export rows (core/users.h), written into the state
 * directory, which then is the run's one input.
 *
 * A resumed run must read the very file its checkpoint describes, so the
 * file is kept when a checkpoint exists and the inputs are those it was
 * derived from (users-from-export.inputs lists each input's name, size and
 * modification time); otherwise, and with --restart, it is derived again.
 * Inputs that changed under a checkpoint are refused, as for any resume.
 */
#include "run.h"

#include "users.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What the derived file was made from, one line per input. @return the
 * text (malloc'd) or NULL. */
static char *describe_inputs(const cli_run_t *r)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    if (fp == NULL)
        return NULL;
    for (uint32_t i = 0; i < r->sources.n; i++) {
        struct stat st;
        if (stat(r->sources.v[i].path, &st) != 0)
            memset(&st, 0, sizeof(st));
        fprintf(fp, "%s\t%" PRIu64 "\t%" PRId64 ".%09ld\n", r->sources.v[i].name,
                (uint64_t)st.st_size, (int64_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    }
    fclose(fp);
    return text;
}

/* @return 1 when path holds exactly text. */
static int file_is(const char *path, const char *text)
{
    size_t n = strlen(text), got;
    char *buf = malloc(n + 2);
    FILE *fp = fopen(path, "r");
    int same = 0;
    if (buf != NULL && fp != NULL) {
        got = fread(buf, 1, n + 1, fp);
        same = got == n && memcmp(buf, text, n) == 0;
    }
    if (fp != NULL)
        fclose(fp);
    free(buf);
    return same;
}

/* Replaces path with text in one step (temporary file, fsync, rename). */
static int write_text(const char *path, const char *text)
{
    char tmp[PATH_MAX + 64];
    FILE *fp;
    int bad;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fp = al_fopen_tmp(tmp);
    if (fp == NULL)
        return -1;
    bad = fputs(text, fp) < 0 || fflush(fp) != 0 || fsync(fileno(fp)) != 0;
    bad |= fclose(fp) != 0;
    if (bad || rename(tmp, path) != 0 || al_fsync_parent(path) != 0) {
        (void)unlink(tmp);
        return -1;
    }
    return 0;
}

int cli_derive_users(cli_run_t *r)
{
    const cli_settings_t *s = r->set;
    const char *derived = al_state_path(r->state, AL_STATE_DERIVED);
    const char *list = al_state_path(r->state, AL_STATE_DERIVED_INPUTS);
    const char *checkpoint = al_state_path(r->state, AL_STATE_CHECKPOINT);
    char *inputs = describe_inputs(r);
    al_users_stats_t st;
    al_diag_t d;
    al_err_t err;

    if (inputs == NULL) {
        fprintf(stderr, "ampload: out of memory\n");
        return EXIT_INTERNAL;
    }
    if (!s->restart && access(checkpoint, F_OK) == 0 && access(derived, F_OK) == 0) {
        int same = file_is(list, inputs);
        free(inputs);
        if (!same) {
            fprintf(stderr,
                    "ampload: the export files changed since %s was derived from them\n"
                    "  hint: run with --restart to derive the identifications again and start "
                    "over\n",
                    derived);
            return EXIT_USAGE;
        }
        if (!s->quiet)
            fprintf(stderr, "ampload: resuming with the identifications in %s\n", derived);
    } else {
        err = al_users_from_export(&r->sources, derived, &r->stop, &st, &d);
        if (err == AL_ERR_OK && write_text(list, inputs) != 0) {
            al_diag_set(&d, list, errno);
            err = AL_ERR_WRITE;
        }
        free(inputs);
        if (err != AL_ERR_OK) {
            cli_print_error(err, &d);
            return cli_exit_code(err);
        }
        if (!s->quiet)
            fprintf(stderr,
                    "ampload: %" PRIu64 " export rows: %" PRIu64
                    " users with properties, one identification each (%" PRIu64
                    " older rows; %" PRIu64
                    " rows without an id, a time or user_properties); in %s\n",
                    st.rows, st.users, st.rows_older, st.rows_without, derived);
    }
    r->derived[0] = derived;
    err = al_sources_expand(&r->derived_src, r->derived, 1, &d);
    if (err != AL_ERR_OK) {
        cli_print_error(err, &d);
        return cli_exit_code(err);
    }
    /* Records and reports name it by its name, not its path: the copies of a
     * sharded job each derive the same file into their own state directory,
     * and `report merge` must see one input. */
    r->derived_src.v[0].name = al_state_name(AL_STATE_DERIVED);
    ((const char **)r->derived_src.names)[0] = al_state_name(AL_STATE_DERIVED);
    r->pipe.paths = r->derived_src.names;
    r->pipe.npaths = 1;
    r->pipe.sources = &r->derived_src;
    return 0;
}
