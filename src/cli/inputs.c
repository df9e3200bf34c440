/* inputs.c - the run's inputs, with zip archives opened up into their
 * members (core/sources.h), between taking the state directory and the
 * resume decision: the checkpoint and the reject and failed files speak of
 * members, and a damaged archive stops the run before anything is sent. */
#include "run.h"

#include "export_job.h"

#include <inttypes.h>
#include <stdlib.h>

int cli_plan_shard(cli_run_t *r)
{
    const cli_settings_t *s = r->set;
    const al_sources_t *src = r->pipe.sources;
    al_diag_t d;
    al_err_t err;

    if (s->pipe.shard_count <= 1)
        return 0;
    r->pipe.shard_label = s->shard_label;
    if (s->shard_by_device)
        return 0;
    r->parts = calloc(src->n ? src->n : 1, sizeof(*r->parts));
    if (r->parts == NULL) {
        fprintf(stderr, "ampload: out of memory\n");
        return EXIT_INTERNAL;
    }
    err = al_shard_plan(src, s->pipe.shard_index, s->pipe.shard_count, r->parts, &d);
    if (err != AL_ERR_OK) {
        cli_print_error(err, &d);
        return EXIT_USAGE;
    }
    r->pipe.parts = r->parts;
    r->pipe.shard_count = 0; /* every line of a part is this copy's: no per-event split */
    return 0;
}

int cli_expand_inputs(cli_run_t *r)
{
    const cli_settings_t *s = r->set;
    al_diag_t d;
    /* the manifest of a zipped export is no rows (a plain file named so is
     * refused before: cli_refuse_export_inputs) */
    al_err_t err = al_sources_expand_objects(
        &r->sources, s->pipe.paths, s->pipe.npaths,
        s->edits.from_export ? al_state_name(AL_STATE_MANIFEST) : NULL, s->pipe.s3, &d);

    if (err != AL_ERR_OK) {
        cli_print_error(err, &d);
        return cli_exit_code(err);
    }
    r->pipe.paths = r->sources.names;
    r->pipe.npaths = r->sources.n;
    r->pipe.sources = &r->sources;
    if (r->sources.nzips > 0 && !s->quiet) {
        uint32_t members = 0;
        for (uint32_t i = 0; i < r->sources.n; i++)
            members += r->sources.v[i].zip != NULL;
        fprintf(stderr,
                "ampload: %" PRIu32 " zip archive%s: %" PRIu32 " member%s to read, %" PRIu64
                " entr%s skipped (directories, __MACOSX/, dot files%s)\n",
                r->sources.nzips, r->sources.nzips == 1 ? "" : "s", members,
                members == 1 ? "" : "s", r->sources.members_skipped,
                r->sources.members_skipped == 1 ? "y" : "ies",
                s->edits.from_export ? ", the export's manifest" : "");
    }
    return 0;
}
