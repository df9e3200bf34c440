/* pipeline.c - the threads of a run and the per-line loop.
 *
 * Threads: one reader (reader_main) and N parsers (parser_main). The reader
 * owns the al_reader_t of the input being read; chunks cross to the parsers
 * through a bounded queue and are released by whichever parser took them.
 * Each parser owns its counters, its reject writer and its open batch; they
 * are merged or flushed when it ends, so the per-line loop takes no lock and
 * shares no cache line with another thread.
 *
 * The first fatal error (reject file unwritable, sink refused a batch) is
 * recorded once, the chunk queue is closed so the reader stops, and the
 * parsers drain the queue without processing it.
 */
#include "pipeline.h"

#include "deadletter.h"
#include "identify.h"
#include "insertid.h"
#include "queue.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct {
    const al_pipeline_opts_t *opts;
    /* from opts->state: where each input starts (NULL: at its first line),
     * and whether the record files are appended to (a resume) */
    const al_mark_t *start;
    int resume_files;
    const al_jset_t *jset; /* identify: what the journal knows past the marks */
    al_queue_t chunks;
    al_deadletter_t *dl;
    al_deadletter_t *failed_file;
    al_deadletter_t *held_file; /* identify: identifications in doubt */
    al_journal_t *journal;      /* identify: sent and acknowledged */
    al_send_opts_t send;        /* the caller's, with the files above and the tracks' sink */
    al_sender_t *sender;
    al_batch_sink_fn sink;
    void *sink_ctx;
    al_ckpt_t *ck;
    pthread_t ck_tid;
    int ck_started;
    pthread_mutex_t ck_lock;
    pthread_cond_t ck_cond;
    int ck_done;
    atomic_int reader_interrupted;
    al_input_t *inputs;
    uint64_t *keys; /* per input, al_insert_id_input_key() (with insert_ids) */
    /* per input: a stream the preflight opened (and so sniffed), which the
     * reader thread takes over; NULL for the others */
    al_reader_t **opened;
    size_t chunk_bytes;
    atomic_int failed;    /* a fatal error was recorded */
    al_first_err_t first; /* what stopped the run */
    al_stats_t reader_stats;
    pthread_mutex_t in_lock; /* the parsers' per-input counts (al_input_t.valid ...) */
} run_t;

typedef struct {
    run_t *run;
    pthread_t tid;
    al_stats_t stats;
    al_dl_writer_t dlw;
    al_batch_t *batch;
    al_track_t *track; /* the chunk being parsed, when checkpointing */
    int64_t untracked; /* its events batched but not yet added to the track */
    /* for a SIGBUS in mid-line (the input shrank): where the line began and
     * how much of the reject writer's buffer was whole records then */
    uint64_t line_off;
    size_t dl_mark;
    al_xform_t *xf; /* scratch of the edits (opts->edits), allocated on first use */
    /* the chunk's lines that passed validation / were refused, and its
     * first refusal (line 0: none), added to its input's when it is done */
    uint64_t chunk_valid, chunk_rejected, rej_line;
    char rej_reason[160];
} parser_t;

static int stop_requested(const run_t *run)
{
    return run->opts->stop != NULL && atomic_load(run->opts->stop);
}

static void run_fail(run_t *run, al_err_t err, const al_diag_t *diag)
{
    al_first_err_set(&run->first, err, diag);
    atomic_store(&run->failed, 1);
    al_queue_close(&run->chunks);
}

void al_pipeline_opts_init(al_pipeline_opts_t *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->threads = 1;
    al_rules_init(&opts->rules);
    al_batch_opts_init(&opts->batch);
}

/* ---- reader thread ------------------------------------------------------ */

/* The file holding input i (a zip member's archive). */
static const char *file_of(const al_pipeline_opts_t *o, uint32_t i)
{
    return o->sources != NULL ? o->sources->v[i].path : o->paths[i];
}

/* How input i is opened: from its archive for a zip member. */
static void member_opts(const al_pipeline_opts_t *o, uint32_t i, al_reader_opts_t *ro)
{
    if (o->sources == NULL || o->sources->v[i].zip == NULL)
        return;
    ro->zip = o->sources->v[i].zip;
    ro->member = o->sources->v[i].member;
    ro->name = o->sources->v[i].name;
}

/* @return whether this copy reads input i (parts, pipeline.h). */
static int part_taken(const al_pipeline_opts_t *o, uint32_t i)
{
    return o->parts == NULL || o->parts[i].take;
}

/* The byte range of input i this copy reads, when it is not all of it. */
static void part_opts(const al_pipeline_opts_t *o, uint32_t i, al_reader_opts_t *ro)
{
    if (o->parts == NULL || (o->parts[i].start == 0 && o->parts[i].end == AL_PART_END))
        return;
    ro->range_start = o->parts[i].start;
    ro->range_end = o->parts[i].end == AL_PART_END ? AL_RANGE_END : o->parts[i].end;
}

/* @return whether the lines of input i are numbered from its first line
 * (not when this copy starts in the middle of it). */
static int lines_known(const al_pipeline_opts_t *o, uint32_t i)
{
    return o->parts == NULL || o->parts[i].start == 0;
}

/* The reader options of input i in this run: chunk size, resume point,
 * zip member and byte range. */
static void reader_opts(const run_t *run, uint32_t i, al_reader_opts_t *ropts)
{
    const al_pipeline_opts_t *o = run->opts;
    const al_mark_t *start = run->start != NULL ? &run->start[i] : NULL;
    memset(ropts, 0, sizeof(*ropts));
    ropts->chunk_bytes = run->chunk_bytes;
    ropts->start_offset = start != NULL ? start->offset : 0;
    ropts->start_line = start != NULL ? start->line : 1;
    ropts->s3 = o->s3;
    ropts->etag = o->sources != NULL ? o->sources->v[i].etag : NULL;
    member_opts(o, i, ropts);
    part_opts(o, i, ropts);
}

/* Opens input i for reading: a stream the preflight opened is taken over.
 * @return AL_ERR_OK or the reader's error (diag says what). */
static al_err_t open_input(run_t *run, uint32_t i, al_reader_t **r, al_diag_t *diag)
{
    al_reader_opts_t ropts;
    if (run->opened != NULL && run->opened[i] != NULL) {
        *r = run->opened[i];
        run->opened[i] = NULL;
        return AL_ERR_OK;
    }
    reader_opts(run, i, &ropts);
    return al_reader_open(r, file_of(run->opts, i), i, &ropts, diag);
}

static void *reader_main(void *arg)
{
    run_t *run = arg;
    const al_pipeline_opts_t *o = run->opts;

    for (uint32_t i = 0; i < o->npaths && !atomic_load(&run->failed); i++) {
        al_input_t *in = &run->inputs[i];
        const al_mark_t *start = run->start != NULL ? &run->start[i] : NULL;
        al_reader_t *r = NULL;
        al_chunk_t *c = NULL;
        uint64_t first;
        int complete = 0;

        if (start != NULL && start->line > 1) {
            /* lines resolved by an earlier run: read, and skipped this time */
            run->reader_stats.lines_read += start->line - 1;
            run->reader_stats.skipped += start->line - 1;
        }
        if ((start != NULL && start->done) || !part_taken(o, i)) {
            if (run->ck != NULL)
                al_ckpt_input_done(run->ck, i, start != NULL ? start->offset : 0,
                                   start != NULL ? start->line : 1);
            continue;
        }
        in->err = open_input(run, i, &r, &in->diag);
        if (in->err != AL_ERR_OK)
            continue;
        first = al_reader_bytes_read(r); /* a range's first line, or the resume point */
        in->format = al_reader_format(r);
        in->file_size = al_reader_file_size(r);
        for (;;) {
            if (stop_requested(run)) {
                atomic_store(&run->reader_interrupted, 1);
                break;
            }
            in->err = al_reader_next(r, &c, &in->diag);
            if (in->err != AL_ERR_OK)
                break;
            if (c == NULL) {
                complete = 1;
                break;
            }
            in->lines += c->lines;
            if (o->live != NULL)
                atomic_fetch_add_explicit(&o->live->bytes_read, c->len, memory_order_relaxed);
            if (run->ck != NULL) {
                c->track = al_track_new(i, c->end, c->first_line + c->lines);
                if (c->track == NULL) {
                    al_chunk_release(c);
                    run_fail(run, AL_ERR_NOMEM, NULL);
                    break;
                }
                al_ckpt_track(run->ck, c->track);
            }
            if (!al_queue_push(&run->chunks, c)) {
                al_chunk_release(c); /* its track stays open: not resolved */
                break;
            }
        }
        in->whole = complete && (start == NULL || start->offset == 0) && lines_known(o, i);
        if (complete && run->ck != NULL)
            al_ckpt_input_done(run->ck, i, al_reader_bytes_read(r), al_reader_next_line(r));
        in->bytes_read = al_reader_bytes_read(r) - first;
        run->reader_stats.bytes_read += in->bytes_read;
        al_reader_close(r);
        if (stop_requested(run))
            break;
    }
    al_queue_close(&run->chunks);
    return NULL;
}

/* ---- parser threads ----------------------------------------------------- */

static int is_blank(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

/* Closes the open batch and hands it on. @return AL_ERR_OK or the sink's error. */
static al_err_t ship_batch(parser_t *w)
{
    const al_pipeline_opts_t *o = w->run->opts;
    al_batch_t *b = w->batch;
    al_err_t err = AL_ERR_OK;

    if (al_batch_finish(b) != AL_ERR_OK)
        return AL_ERR_NOMEM;
    w->stats.batches_built++;
    w->stats.batch_bytes += b->len;
    if (w->track != NULL && w->untracked > 0) {
        /* counted before the sink can resolve any of them */
        al_track_add(w->track, w->untracked);
        w->untracked = 0;
    }
    if (w->run->sink == NULL) {
        al_batch_reset(b);
        return AL_ERR_OK;
    }
    w->batch = NULL;
    err = w->run->sink(w->run->sink_ctx, b);
    if (err != AL_ERR_OK)
        return err;
    w->batch = al_batch_new(&o->batch);
    return w->batch != NULL ? AL_ERR_OK : AL_ERR_NOMEM;
}

static al_err_t reject(parser_t *w, const al_reason_t *why, const char *p, size_t len,
                       uint64_t full_len, uint32_t file_id, uint64_t line, uint64_t offset)
{
    const al_pipeline_opts_t *o = w->run->opts;
    char reason[160];
    al_reject_t rec;
    al_diag_t d;
    al_err_t err;

    rec.file_id = file_id;
    rec.file = o->paths[file_id];
    rec.line = lines_known(o, file_id) ? line : 0; /* 0: written as null */
    rec.offset = offset;
    rec.reason = al_reason_format(why, &o->rules, reason, sizeof(reason));
    rec.raw = p;
    rec.raw_len = len;
    rec.full_len = full_len;
    err = al_dl_write(&w->dlw, &rec, &d);
    if (err != AL_ERR_OK) {
        run_fail(w->run, err, &d);
        return err;
    }
    w->stats.rejected_local++;
    w->stats.rejected_by_reason[why->code]++;
    return AL_ERR_OK;
}

/* @return whether this run's shard owns a line of the given key (see
 * shard_index in pipeline.h). */
static int owned(const al_pipeline_opts_t *o, uint64_t key)
{
    return o->shard_count <= 1 || key % o->shard_count == o->shard_index;
}

static void skip_foreign(parser_t *w)
{
    w->stats.skipped++;
    w->stats.skipped_shard++;
}

/* Validates a line, edited first when the run has edits (the event is
 * then the edit's output, *p and *len changed); an identification with the
 * Identify rules (*flags gets its class). @return 1 valid, 0 refused (why
 * set), -1 out of memory. */
static int check_line(parser_t *w, const char **p, size_t *len, al_event_t *ev, al_reason_t *why,
                      uint32_t *flags)
{
    const al_pipeline_opts_t *o = w->run->opts;
    int rc;
    if (o->identify) {
        al_ident_t id;
        rc = al_ident_check(*p, *len, &o->rules, &id, why);
        ev->scan = id.scan;
        *flags = id.non_idempotent ? AL_ORIGIN_NON_IDEMPOTENT : 0;
        return rc;
    }
    if (o->edits == NULL)
        return al_event_check(*p, *len, &o->rules, ev, why);
    if (w->xf == NULL && (w->xf = calloc(1, sizeof(*w->xf))) == NULL)
        return -1;
    rc = al_transform(o->edits, *p, *len, w->xf, p, len, ev, why);
    return rc == 1 ? al_event_rules(*p, *len, &o->rules, ev, why) : rc;
}

/* One line of chunk c (without its line ending): skipped, rejected, or
 * packed into the parser's batch. */
static al_err_t take_line(parser_t *w, const al_chunk_t *c, const char *p, size_t len,
                          uint64_t line, uint64_t offset)
{
    const al_pipeline_opts_t *o = w->run->opts;
    const char *raw = p;
    size_t raw_len = len;
    al_event_t ev;
    al_reason_t why;
    al_err_t err;
    uint32_t flags = 0;
    int valid;

    if (len == 0 || (p[0] != '{' && is_blank(p, len))) {
        w->stats.skipped++;
        return AL_ERR_OK;
    }
    valid = check_line(w, &p, &len, &ev, &why, &flags);
    if (valid < 0) {
        run_fail(w->run, AL_ERR_NOMEM, NULL);
        return AL_ERR_NOMEM;
    }
    if (!valid) {
        w->chunk_rejected++;
        if (w->rej_line == 0) {
            w->rej_line = line;
            al_reason_format(&why, &o->rules, w->rej_reason, sizeof(w->rej_reason));
        }
        if (!owned(o, line)) {
            skip_foreign(w);
            return AL_ERR_OK;
        }
        /* the line as it is in the input, not as edited */
        return reject(w, &why, raw, raw_len, raw_len, c->file_id, line, offset);
    }
    w->chunk_valid++;
    /* ids are read by the sender (429 quota and pauses) and by sharding */
    int ids = o->send != NULL || o->shard_count > 1;
    al_origin_t origin = {
        .line = line,
        .offset = offset,
        .uid = ids ? al_event_id_hash(p, &ev.scan.field[AL_KEY_USER_ID]) : 0,
        .did = ids ? al_event_id_hash(p, &ev.scan.field[AL_KEY_DEVICE_ID]) : 0,
        .track = c->track,
        .file_id = c->file_id,
        .flags = flags,
    };
    if (!owned(o, origin.did != 0 ? origin.did : origin.uid)) {
        skip_foreign(w);
        return AL_ERR_OK;
    }
    if (w->run->jset != NULL) {
        int known = al_jset_state(w->run->jset, c->file_id, offset);
        if (known == AL_JOURNAL_ACKED) { /* applied by an earlier run */
            w->stats.skipped++;
            w->stats.skipped_acknowledged++;
            return AL_ERR_OK;
        }
        if (known == AL_JOURNAL_SENT)
            origin.flags |= AL_ORIGIN_WAS_SENT;
    }
    char idbuf[64];
    al_inject_t inj;
    int edit = o->insert_ids &&
               al_insert_id_plan(p, len, &ev.scan,
                                 al_insert_id_seed(w->run->keys[c->file_id], offset), idbuf, &inj);
    size_t size = edit ? len - inj.cut + inj.text_len : len;
    if (!al_batch_fits(w->batch, size)) {
        err = ship_batch(w);
        if (err != AL_ERR_OK)
            return err;
    }
    err = al_batch_add_edited(w->batch, p, len, edit ? &inj : NULL, &origin);
    if (err != AL_ERR_OK)
        return err;
    w->untracked += c->track != NULL;
    w->stats.events_valid++;
    if (w->batch->events == o->batch.max_events)
        return ship_batch(w);
    return AL_ERR_OK;
}

static al_err_t parse_chunk(parser_t *w, const al_chunk_t *c)
{
    const char *p = c->data, *end = c->data + c->len;
    uint64_t line = c->first_line;
    al_err_t err;

    if (c->long_line != 0) {
        al_reason_t why = {.code = AL_REASON_TOO_LONG, .length = c->long_line};
        w->stats.lines_read++;
        w->chunk_rejected++;
        w->rej_line = line;
        al_reason_format(&why, &w->run->opts->rules, w->rej_reason, sizeof(w->rej_reason));
        if (!owned(w->run->opts, line)) {
            skip_foreign(w);
            return AL_ERR_OK;
        }
        return reject(w, &why, c->data, c->len, c->long_line, c->file_id, line, c->offset);
    }
    while (p < end) {
        uint64_t offset = c->offset + (uint64_t)(p - c->data);
        const char *nl, *le;
        size_t len;

        /* before the first touch of the line: where a SIGBUS would leave
         * it (a record written for an earlier line may have flushed the
         * writer's buffer, so the mark is taken per line) */
        w->line_off = offset;
        w->dl_mark = w->dlw.len;
        nl = memchr(p, '\n', (size_t)(end - p));
        le = nl != NULL ? nl : end;
        len = (size_t)(le - p);
        if (len > 0 && p[len - 1] == '\r')
            len--; /* CRLF line ending */
        err = take_line(w, c, p, len, line, offset);
        w->stats.lines_read++; /* after: a line the input lost is not read */
        if (err != AL_ERR_OK)
            return err;
        line++;
        p = (nl != NULL) ? nl + 1 : end;
    }
    return AL_ERR_OK;
}

typedef struct {
    parser_t *w;
    const al_chunk_t *c;
    al_err_t err;
} parse_job_t;

static void parse_job(void *arg)
{
    parse_job_t *j = arg;
    j->err = parse_chunk(j->w, j->c);
}

/* Parses a chunk; a mapped one under the SIGBUS guard. When its file shrank
 * under it, the line being read is dropped whole (a half-written reject
 * record is cut off), the events batched before it stay counted on the
 * chunk's track, and the chunk keeps its parse hold: the checkpoint never
 * passes it, and the run stops with INPUT_CHANGED. */
static al_err_t parse_guarded(parser_t *w, const al_chunk_t *c, al_diag_t *d)
{
    parse_job_t j = {w, c, AL_ERR_OK};
    memset(d, 0, sizeof(*d));
    if (c->map == NULL)
        return parse_chunk(w, c);
    w->dl_mark = w->dlw.len; /* a fault before the first line */
    if (al_map_guarded(parse_job, &j) == 0)
        return j.err;
    w->dlw.len = w->dl_mark;
    if (c->track != NULL) {
        al_track_add(c->track, w->untracked);
        w->untracked = 0;
    }
    w->track = NULL;
    al_diag_set(d, w->run->opts->paths[c->file_id], 0);
    d->offset = w->line_off;
    d->has_offset = 1;
    snprintf(d->detail, sizeof(d->detail), "it shrank while the line at this offset was read");
    return AL_ERR_INPUT_CHANGED;
}

/* Adds the chunk's validation counts to its input's: once per chunk, off
 * the per-line path. */
static void count_input(parser_t *w, uint32_t file_id)
{
    al_input_t *in = &w->run->inputs[file_id];
    pthread_mutex_lock(&w->run->in_lock);
    in->valid += w->chunk_valid;
    in->rejected += w->chunk_rejected;
    if (w->rej_line != 0 &&
        (in->first_rejected_line == 0 || w->rej_line < in->first_rejected_line)) {
        in->first_rejected_line = w->rej_line;
        memcpy(in->first_reason, w->rej_reason, sizeof(in->first_reason));
    }
    pthread_mutex_unlock(&w->run->in_lock);
}

int al_input_all_rejected(const al_input_t *in)
{
    return in->whole && in->err == AL_ERR_OK && in->rejected > 0 && in->valid == 0;
}

static void *parser_main(void *arg)
{
    parser_t *w = arg;
    run_t *run = w->run;
    al_chunk_t *c;
    al_err_t err;
    al_diag_t d;

    while ((c = al_queue_pop(&run->chunks)) != NULL) {
        if (!atomic_load(&run->failed) && !stop_requested(run)) {
            uint64_t lines0 = w->stats.lines_read, rejected0 = w->stats.rejected_local;
            uint64_t skipped0 = w->stats.skipped;
            w->track = c->track;
            w->chunk_valid = w->chunk_rejected = w->rej_line = 0;
            err = parse_guarded(w, c, &d);
            count_input(w, c->file_id);
            if (run->opts->live != NULL) { /* once per chunk: off the per-line path */
                atomic_fetch_add_explicit(&run->opts->live->lines_read,
                                          w->stats.lines_read - lines0, memory_order_relaxed);
                atomic_fetch_add_explicit(&run->opts->live->rejected,
                                          w->stats.rejected_local - rejected0,
                                          memory_order_relaxed);
                atomic_fetch_add_explicit(&run->opts->live->skipped, w->stats.skipped - skipped0,
                                          memory_order_relaxed);
                atomic_fetch_add_explicit(&run->opts->live->src_parsed, c->src_bytes,
                                          memory_order_relaxed);
            }
            if (err != AL_ERR_OK) {
                run_fail(run, err, &d);
            } else if (c->track != NULL) {
                /* the chunk's own outcomes are durable; then its hold goes */
                al_track_add(c->track, w->untracked);
                w->untracked = 0;
                err = al_dl_writer_commit(&w->dlw, &d);
                if (err != AL_ERR_OK)
                    run_fail(run, err, &d);
                else
                    al_track_resolve(c->track, 1);
            }
        }
        al_chunk_release(c);
    }
    w->track = NULL;
    /* The last, partial batch goes on even after a failure: its events were
     * counted as valid, so the sink must account for them (a stopped sender
     * leaves them unresolved for a resume, or, when the run cannot be
     * resumed, writes them to the failed file). */
    if (w->batch != NULL && w->batch->events > 0 &&
        (run->sink != NULL || !atomic_load(&run->failed))) {
        err = ship_batch(w);
        if (err != AL_ERR_OK)
            run_fail(run, err, NULL);
    }
    err = al_dl_writer_flush(&w->dlw, &d);
    if (err != AL_ERR_OK)
        run_fail(run, err, &d);
    return NULL;
}

/* ---- the checkpointer ---------------------------------------------------- */

/* The sender's resolution sink (send.h): what it resolves or sees
 * acknowledged comes off the event's chunk track, so the mark can pass it. */
static void track_resolved(void *ctx, struct al_track *t, int64_t n)
{
    (void)ctx;
    al_track_resolve(t, n);
}

static void track_acked(void *ctx, struct al_track *t, int64_t n)
{
    (void)ctx;
    al_track_acked(t, n);
}

static al_err_t save_checkpoint(run_t *run, al_diag_t *d)
{
    al_deadletter_t *files[3] = {run->dl, run->failed_file, run->held_file};
    return al_ckpt_save(run->ck, files, 3, d);
}

static void *ckpt_main(void *arg)
{
    run_t *run = arg;
    al_diag_t d;

    pthread_mutex_lock(&run->ck_lock);
    while (!run->ck_done) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&run->ck_cond, &run->ck_lock, &ts);
        if (run->ck_done)
            break;
        pthread_mutex_unlock(&run->ck_lock);
        if (save_checkpoint(run, &d) != AL_ERR_OK)
            run_fail(run, AL_ERR_WRITE, &d);
        pthread_mutex_lock(&run->ck_lock);
    }
    pthread_mutex_unlock(&run->ck_lock);
    return NULL;
}

/* Stops the checkpointer and writes the final checkpoint; each input's
 * acknowledged events go to its al_input_t. */
static void end_checkpoints(run_t *run, al_err_t *err, al_diag_t *diag)
{
    al_diag_t d;
    uint64_t *acked;
    if (run->ck == NULL)
        return;
    if (run->ck_started) {
        pthread_mutex_lock(&run->ck_lock);
        run->ck_done = 1;
        pthread_cond_signal(&run->ck_cond);
        pthread_mutex_unlock(&run->ck_lock);
        pthread_join(run->ck_tid, NULL);
    }
    if (save_checkpoint(run, &d) != AL_ERR_OK && *err == AL_ERR_OK) {
        *err = AL_ERR_WRITE;
        *diag = d;
    }
    acked = calloc(run->opts->npaths ? run->opts->npaths : 1, sizeof(*acked));
    if (acked != NULL) {
        al_ckpt_acked(run->ck, acked);
        for (uint32_t i = 0; i < run->opts->npaths; i++)
            run->inputs[i].acked = acked[i];
    }
    free(acked);
}

/* ---- the run ------------------------------------------------------------ */

/* Lets the sender drain and adds its counts. Its error wins over the one the
 * parsers saw (they only learn that the sender stopped; it knows why). */
static void end_sender(run_t *run, al_stats_t *stats, al_err_t *err, al_diag_t *diag)
{
    al_diag_t d;
    al_err_t serr;
    if (run->sender == NULL)
        return;
    al_sender_finish(run->sender);
    serr = al_sender_join(run->sender, stats, &d);
    if (serr != AL_ERR_OK) {
        *err = serr;
        *diag = d;
    }
}

static void close_files(run_t *run, al_err_t *err, al_diag_t *diag)
{
    al_deadletter_t *files[3] = {run->dl, run->failed_file, run->held_file};
    al_diag_t d;
    al_err_t cerr;
    for (int i = 0; i < 3; i++) {
        cerr = al_deadletter_close(files[i], &d);
        if (*err == AL_ERR_OK && cerr != AL_ERR_OK) {
            *err = cerr;
            *diag = d;
        }
    }
    cerr = al_journal_close(run->journal, &d);
    if (*err == AL_ERR_OK && cerr != AL_ERR_OK) {
        *err = cerr;
        *diag = d;
    }
}

/* @return 1 when a and b are the same file (both exist). */
static int same_inode(const struct stat *a, const char *b)
{
    struct stat sb;
    return b != NULL && stat(b, &sb) == 0 && a->st_dev == sb.st_dev && a->st_ino == sb.st_ino;
}

al_err_t al_pipeline_check_paths(const char *const *paths, uint32_t n, const char *const *outputs,
                                 const char *const *roles, uint32_t nout, al_diag_t *diag)
{
    memset(diag, 0, sizeof(*diag));
    for (uint32_t i = 0; i < n; i++) {
        struct stat st;
        int is_stdin = strcmp(paths[i], "-") == 0;
        if (!is_stdin && stat(paths[i], &st) != 0)
            continue; /* the reader says what is wrong with it */
        for (uint32_t j = 0; j < i; j++) {
            if (is_stdin ? strcmp(paths[j], "-") == 0 : same_inode(&st, paths[j])) {
                al_diag_set(diag, paths[i], 0);
                snprintf(diag->detail, sizeof(diag->detail), "input %" PRIu32 " is %s too", j + 1,
                         paths[j]);
                return AL_ERR_DUPLICATE_INPUT;
            }
        }
        for (uint32_t k = 0; k < nout && !is_stdin; k++) {
            if (same_inode(&st, outputs[k])) {
                al_diag_set(diag, paths[i], 0);
                if (roles != NULL && roles[k] != NULL)
                    snprintf(diag->detail, sizeof(diag->detail), "it is the run's %s, %s", roles[k],
                             outputs[k]);
                else
                    snprintf(diag->detail, sizeof(diag->detail), "the run would write %s",
                             outputs[k]);
                return AL_ERR_INPUT_IS_OUTPUT;
            }
        }
    }
    return AL_ERR_OK;
}

/* Refuses a file given twice or that this run would overwrite; the
 * members of one archive are one file. */
static al_err_t check_files(const al_pipeline_opts_t *o, al_input_t *inputs, al_diag_t *diag)
{
    const char *outputs[AL_STATE_KEPT], *roles[AL_STATE_KEPT];
    uint32_t nout = al_state_kept(o->state, outputs, roles);
    const char **files = malloc(sizeof(*files) * (o->npaths ? o->npaths : 1));
    uint32_t nf = 0;
    al_err_t err;

    if (files == NULL)
        return AL_ERR_NOMEM;
    for (uint32_t i = 0; i < o->npaths; i++)
        if (i == 0 || o->sources == NULL || o->sources->v[i].zip == NULL ||
            o->sources->v[i].zip != o->sources->v[i - 1].zip)
            files[nf++] = file_of(o, i);
    err = al_pipeline_check_paths(files, nf, outputs, roles, nout, diag);
    free(files);
    if (err != AL_ERR_OK)
        for (uint32_t i = 0; i < o->npaths; i++)
            if (strcmp(file_of(o, i), diag->path) == 0 && inputs[i].err == AL_ERR_OK) {
                inputs[i].err = err;
                inputs[i].diag = *diag;
                break;
            }
    return err;
}

/* The insert_id key of input i (insertid.h): its file, and the member's
 * own name for a zip member. */
static al_err_t input_key(const al_pipeline_opts_t *o, uint32_t i, uint64_t *key, al_diag_t *diag)
{
    const char *member = NULL;
    if (o->sources != NULL && o->sources->v[i].zip != NULL)
        member = o->sources->v[i].name + strlen(o->sources->v[i].path) + 1; /* "path:member" */
    return al_insert_id_input_key(file_of(o, i), member, key, diag);
}

/* Opens (and so sniffs) a stream for good: its first bytes can be read
 * only once, so the reader thread takes this reader over. A stream of a
 * shape ampload cannot read is refused here, before anything is sent -
 * not after the files before it were. @return AL_ERR_OK or the error. */
static al_err_t open_stream(run_t *run, uint32_t i, al_diag_t *diag)
{
    al_reader_opts_t ropts;
    al_err_t err;
    reader_opts(run, i, &ropts);
    err = al_reader_open(&run->opened[i], file_of(run->opts, i), i, &ropts, diag);
    if (err != AL_ERR_OK) {
        run->opened[i] = NULL;
        run->inputs[i].err = err;
        run->inputs[i].diag = *diag;
    }
    return err;
}

/* Opens and sniffs every named input once, so a typo or a shape ampload
 * cannot read fails before any work; and refuses an input that this run
 * would overwrite. Takes each input's insert_id key. */
static al_err_t preflight(run_t *run, al_input_t *inputs, uint64_t *keys, al_diag_t *diag)
{
    const al_pipeline_opts_t *o = run->opts;
    al_err_t perr = check_files(o, inputs, diag);
    if (perr != AL_ERR_OK)
        return perr;
    for (uint32_t i = 0; i < o->npaths; i++) {
        al_reader_opts_t ropts = {0};
        al_reader_t *r;
        al_err_t err;
        if (!part_taken(o, i))
            continue; /* not this copy's */
        if (al_input_is_stream(file_of(o, i))) {
            err = open_stream(run, i, diag);
            if (err != AL_ERR_OK)
                return err;
            continue;
        }
        ropts.s3 = o->s3;
        ropts.etag = o->sources != NULL ? o->sources->v[i].etag : NULL;
        member_opts(o, i, &ropts);
        part_opts(o, i, &ropts);
        err = al_reader_open(&r, file_of(o, i), i, &ropts, diag);
        if (err == AL_ERR_OK && o->insert_ids &&
            (err = input_key(o, i, &keys[i], diag)) != AL_ERR_OK)
            al_reader_close(r);
        if (err != AL_ERR_OK) {
            inputs[i].err = err;
            inputs[i].diag = *diag;
            return err;
        }
        if (o->live != NULL) {
            /* what this run has to go through: a plain file resumes at its
             * mark, a compressed one or a member is decompressed from the
             * start again */
            uint64_t size = al_reader_file_size(r), skip = 0;
            if (run->start != NULL && al_reader_format(r) == AL_FORMAT_PLAIN && ropts.zip == NULL)
                skip = run->start[i].done ? size : run->start[i].offset;
            if (skip < ropts.range_start)
                skip = ropts.range_start; /* a copy's part starts there */
            atomic_fetch_add_explicit(&o->live->total_bytes, size > skip ? size - skip : 0,
                                      memory_order_relaxed);
        }
        al_reader_close(r);
    }
    return AL_ERR_OK;
}

/* @return whether the options can run at all. */
static int opts_valid(const al_pipeline_opts_t *o)
{
    return o->threads >= 1 && o->threads <= AL_MAX_THREADS && o->state != NULL &&
           o->rules.max_event_bytes + al_batch_envelope_bytes(&o->batch) <= o->batch.max_bytes &&
           o->batch.max_events >= 1 && o->batch.max_events <= AL_MAX_BATCH_EVENTS;
}

/* With a sender: opens the failed file, starts the sender and, with a
 * checkpoint path, the checkpointer. On an error the caller still ends
 * what was started (end_sender, close_files). */
static al_err_t start_delivery(run_t *run, al_diag_t *diag)
{
    const al_pipeline_opts_t *o = run->opts;
    const al_state_t *st = o->state;
    char shard[32] = "";
    al_err_t err;

    run->send = *o->send;
    err = al_deadletter_open(&run->failed_file, al_state_path(st, AL_STATE_FAILED), AL_DL_RAW,
                             run->resume_files, al_state_path(st, AL_STATE_FAILED_INDEX), diag);
    /* identifications in doubt go to the held file, not to a resend */
    if (err == AL_ERR_OK && o->identify)
        err = al_deadletter_open(&run->held_file, al_state_path(st, AL_STATE_HELD), AL_DL_RAW,
                                 run->resume_files, al_state_path(st, AL_STATE_HELD_INDEX), diag);
    /* the journal is for a resume: a stream is never resumed */
    if (err == AL_ERR_OK && o->identify && al_state_checkpointing(st))
        err = al_journal_open(&run->journal, al_state_path(st, AL_STATE_JOURNAL), diag);
    run->send.held = run->held_file;
    run->send.journal = run->journal;
    /* with a checkpoint every chunk has a track, and resolutions move its
     * mark; set before the sender starts, as it copies its options */
    if (al_state_checkpointing(st)) {
        run->send.resolution.resolved = track_resolved;
        run->send.resolution.acked = track_acked;
        run->send.resolution.ctx = NULL;
    }
    if (err == AL_ERR_OK)
        err = al_sender_start(&run->sender, &run->send, run->dl, run->failed_file, o->paths,
                              o->live, diag);
    if (err != AL_ERR_OK)
        return err;
    run->sink = al_sender_submit;
    run->sink_ctx = run->sender;
    if (!al_state_checkpointing(st))
        return AL_ERR_OK;
    if (o->shard_label != NULL)
        snprintf(shard, sizeof(shard), "%s", o->shard_label);
    else if (o->shard_count > 1)
        snprintf(shard, sizeof(shard), "%" PRIu32 "/%" PRIu32, o->shard_index, o->shard_count);
    err = al_ckpt_new(&run->ck, al_state_path(st, AL_STATE_CHECKPOINT), o->paths,
                      o->sources != NULL ? o->sources->files : NULL, o->npaths,
                      shard[0] ? shard : NULL, run->start, diag);
    if (err == AL_ERR_OK && pthread_create(&run->ck_tid, NULL, ckpt_main, run) == 0)
        run->ck_started = 1;
    return err;
}

/* Runs the reader and the parsers to the end of the input (or a failure)
 * and adds their counts to stats. */
static void run_read_path(run_t *run, parser_t *workers, al_stats_t *stats)
{
    const al_pipeline_opts_t *o = run->opts;
    pthread_t reader;
    uint32_t started = 0;
    int reader_started = 0;

    for (uint32_t i = 0; i < o->threads; i++) {
        workers[i].run = run;
        al_dl_writer_init(&workers[i].dlw, run->dl);
        workers[i].batch = al_batch_new(&o->batch);
        if (workers[i].batch == NULL) {
            run_fail(run, AL_ERR_NOMEM, NULL);
            break;
        }
    }
    if (pthread_create(&reader, NULL, reader_main, run) != 0)
        run_fail(run, AL_ERR_THREAD, NULL);
    else
        reader_started = 1;
    for (; started < o->threads && !atomic_load(&run->failed); started++) {
        if (pthread_create(&workers[started].tid, NULL, parser_main, &workers[started]) != 0) {
            run_fail(run, AL_ERR_THREAD, NULL);
            break;
        }
    }
    if (started == 0)
        al_queue_close(&run->chunks);
    if (reader_started)
        pthread_join(reader, NULL);
    if (started == 0) { /* chunks left behind when no parser could start */
        al_chunk_t *c;
        while ((c = al_queue_pop(&run->chunks)) != NULL)
            al_chunk_release(c);
    }
    for (uint32_t i = 0; i < started; i++) {
        pthread_join(workers[i].tid, NULL);
        al_stats_merge(stats, &workers[i].stats);
    }
    for (uint32_t i = 0; i < o->threads; i++) {
        al_batch_free(workers[i].batch);
        if (workers[i].xf != NULL)
            al_xform_free(workers[i].xf);
        free(workers[i].xf);
    }
    al_stats_merge(stats, &run->reader_stats);
}

al_err_t al_pipeline_run(const al_pipeline_opts_t *o, al_input_t *inputs, al_stats_t *stats,
                         al_diag_t *diag)
{
    run_t run;
    parser_t *workers = NULL;
    al_err_t err;

    memset(&run, 0, sizeof(run));
    memset(stats, 0, sizeof(*stats));
    memset(diag, 0, sizeof(*diag));
    memset(inputs, 0, sizeof(*inputs) * o->npaths);
    run.opts = o;
    run.inputs = inputs;
    if (o->state != NULL) {
        run.start = al_state_marks(o->state);
        run.resume_files = al_state_resumed(o->state);
        run.jset = al_state_journal(o->state);
    }
    run.sink = o->sink;
    run.sink_ctx = o->sink_ctx;
    al_first_err_init(&run.first);
    pthread_mutex_init(&run.ck_lock, NULL);
    pthread_mutex_init(&run.in_lock, NULL);
    pthread_cond_init(&run.ck_cond, NULL);
    if (!opts_valid(o)) {
        err = AL_ERR_INVALID_ARG;
        goto out_nothing;
    }
    run.chunk_bytes = o->chunk_bytes ? o->chunk_bytes : AL_DEFAULT_CHUNK_BYTES;
    if (run.chunk_bytes < 2 * (size_t)o->rules.max_event_bytes + 2)
        run.chunk_bytes = 2 * (size_t)o->rules.max_event_bytes + 2;
    run.keys = calloc(o->npaths ? o->npaths : 1, sizeof(*run.keys));
    run.opened = calloc(o->npaths ? o->npaths : 1, sizeof(*run.opened));
    err = run.keys != NULL && run.opened != NULL ? preflight(&run, inputs, run.keys, diag)
                                                 : AL_ERR_NOMEM;
    if (err == AL_ERR_OK)
        err = al_deadletter_open(&run.dl, al_state_path(o->state, AL_STATE_REJECT), AL_DL_RECORDS,
                                 run.resume_files, NULL, diag);
    if (err != AL_ERR_OK)
        goto out_nothing;
    if (o->send != NULL) {
        err = start_delivery(&run, diag);
        if (err != AL_ERR_OK)
            goto out_sender;
    }
    err = al_queue_init(&run.chunks, (size_t)o->threads + 2);
    if (err != AL_ERR_OK)
        goto out_sender;
    workers = calloc(o->threads, sizeof(*workers));
    if (workers != NULL)
        run_read_path(&run, workers, stats);
    err = workers != NULL ? al_first_err_get(&run.first, diag) : AL_ERR_NOMEM;
    free(workers);
    al_queue_destroy(&run.chunks);
out_sender:
    end_sender(&run, stats, &err, diag);
    end_checkpoints(&run, &err, diag);
    al_ckpt_free(run.ck);
    if (err == AL_ERR_OK && atomic_load(&run.reader_interrupted))
        err = AL_ERR_INTERRUPTED;
    close_files(&run, &err, diag);
    al_batch_pool_drain(); /* every batch is back: nothing is kept past the run */
out_nothing:
    for (uint32_t i = 0; run.opened != NULL && i < o->npaths; i++)
        if (run.opened[i] != NULL) /* the reader never got to it */
            al_reader_close(run.opened[i]);
    free(run.opened);
    free(run.keys);
    pthread_cond_destroy(&run.ck_cond);
    pthread_mutex_destroy(&run.ck_lock);
    pthread_mutex_destroy(&run.in_lock);
    al_first_err_destroy(&run.first);
    return err;
}
