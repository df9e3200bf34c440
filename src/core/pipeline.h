/* pipeline.h - wires the stages: reader -> parser-validators -> batch sink.
 *
 * al_pipeline_run() starts one reader thread and N parser threads and
 * returns when every input has been read and every line resolved. The reader
 * turns inputs into chunks, one input after another, and hands them over a
 * bounded queue (back-pressure: it waits when the parsers lag). Each parser
 * thread validates its chunk line by line, writes refused lines to the reject
 * file, and packs valid events into its own batch; a full batch goes to the
 * caller's sink. Batching per thread means no lock on the per-event path.
 *
 * An input that cannot be opened stops the run before anything is read
 * (fail fast: a typo in a backfill command should cost nothing). An input
 * that breaks while being read (corrupt zstd, I/O error) is recorded in its
 * al_input_t; the run goes on with the other inputs.
 *
 * With a sender (send.h) the run ends when every event has been delivered,
 * refused or failed; a configuration error reported by the server stops it.
 * With a checkpoint path, every chunk gets a track (checkpoint.h) and a
 * checkpointer thread saves the low-water marks every second and at the end;
 * a resumed run starts each input at its mark. Setting *stop interrupts:
 * the reader stops, the parsers drop what they have not started, the sender
 * gives requests in flight a bounded time, and the final checkpoint records
 * exactly what was resolved.
 *
 * Thread-safety: call from one thread; the sink is called from parser threads.
 */
#ifndef AL_PIPELINE_H
#define AL_PIPELINE_H

#include "batch.h"
#include "checkpoint.h"
#include "error.h"
#include "journal.h"
#include "statedir.h"
#include "reader.h"
#include "send.h"
#include "shard.h"
#include "sources.h"
#include "stats.h"
#include "transform.h"
#include "validate.h"

#include <stddef.h>
#include <stdint.h>

#define AL_MAX_THREADS 256
#define AL_MAX_SHARDS  65536

/* Receives each finished batch, from a parser thread. Takes ownership.
 * @return AL_ERR_OK, or an error that stops the run. */
typedef al_err_t (*al_batch_sink_fn)(void *ctx, al_batch_t *batch);

typedef struct {
    /* preferences */
    const char *const *paths; /* inputs, "-" = stdin; borrowed for the run */
    uint32_t npaths;
    /* With zip archives opened up (al_sources_expand): the list, whose
     * names paths must be (npaths = its n); NULL when every path is a file
     * of its own. */
    const al_sources_t *sources;
    /* How inputs that are objects in a bucket (s3://, gs://) are reached;
     * NULL when there are none. Borrowed for the run. */
    const al_s3_conf_t *s3;
    uint32_t threads;   /* parser threads, 1..AL_MAX_THREADS */
    size_t chunk_bytes; /* 0 = default; raised to hold two maximal events */
    al_rules_t rules;
    al_batch_opts_t batch;
    /* The state directory (statedir.h), taken and, with a sender, resumed
     * (al_state_resume): the run writes the reject file there; with a
     * sender the failed file and its index, for identify the held file and
     * its index, and - when the state keeps a checkpoint - the checkpoint
     * (at most every second and at the end) and identify's journal. A
     * resumed state gives each input's start mark (lines before it count
     * as read and skipped), the record files are appended to, and the
     * journal past the marks says which identifications were acknowledged
     * (skipped: skipped_acknowledged) or in doubt (flagged
     * AL_ORIGIN_WAS_SENT for the sender to decide). Borrowed, read-only. */
    const al_state_t *state;
    /* Where batches go: a sender (send != NULL), the caller's sink, or, when
     * both are NULL, nowhere (dry run: batches are counted and discarded).
     * When the state keeps a checkpoint, the sender's resolution sink
     * (send->resolution) is the run's own: it feeds the chunks' tracks. */
    const al_send_opts_t *send;
    al_batch_sink_fn sink;
    void *sink_ctx;
    al_live_t *live; /* progress counters, or NULL */
    int insert_ids;  /* give events without an insert_id a deterministic one */
    /* Edits applied to each line before validation (transform.h), or NULL.
     * Reject records keep the line as it is in the input. */
    const al_edits_t *edits;
    /* Scale-out by input (--shard I/N, shard.h): parts (NULL = every input
     * whole) says which inputs, or byte ranges of plain ones, this copy
     * reads; the others are not opened. A range that does not start at 0
     * has no true line numbers (the lines before it are not read): its
     * reject records carry "line": null and the byte offset. shard_label
     * ("I/N", or NULL) goes into the checkpoint, which then belongs to that
     * copy. */
    const al_part_t *parts;
    const char *shard_label;
    /* Scale-out by device (--shard-by device): with shard_count > 1 the run handles only the
     * lines shard shard_index owns. A valid event belongs to the shard of its
     * device_id, else its user_id (al_id_hash of the decoded text modulo
     * shard_count), so all of one device's events go through one shard; a
     * refused line to the shard of its line number modulo shard_count. Every
     * line has exactly one owner: N runs over the same inputs send each
     * event once and reject each bad line once. Other shards' lines count
     * as skipped (and skipped_shard). Blank lines are skipped by every shard. */
    uint32_t shard_index, shard_count;
    /* Identify API (identify.h): lines are identifications, checked as such
     * (al_ident_check), batched as forms (batch.form must be set) and
     * sent with send->identify. */
    int identify;
    atomic_int *stop; /* set to interrupt: stop reading, drain, checkpoint */
} al_pipeline_opts_t;

/* What happened to one input. */
typedef struct {
    al_format_t format;
    uint64_t file_size; /* on disk; 0 for pipes */
    uint64_t bytes_read;
    uint64_t lines;
    al_err_t err; /* AL_ERR_OK, or why reading stopped early */
    al_diag_t diag;
    /* What validation made of its lines, whichever shard owns them: lines
     * that passed, lines refused, and of the refused the first in the
     * input (its line number and reason). whole: this run read it from its
     * first line to its end (not a resume from a mark, not a byte range
     * starting past 0, not cut short). */
    uint64_t valid, rejected;
    uint64_t first_rejected_line;
    char first_reason[160];
    int whole;
    /* With a checkpoint: events of this input the server acknowledged in
     * this run (a resumed run resends at most this many of those an
     * earlier run had acknowledged past the mark: al_mark_t.acked_past). */
    uint64_t acked;
} al_input_t;

/* @return 1 when a whole input (al_input_t.whole) had lines and every one
 * of them was refused: almost always an input in the wrong format, which
 * the caller reports as AL_ERR_ALL_REJECTED even when other inputs loaded.
 * Thread-safety: any thread. */
int al_input_all_rejected(const al_input_t *in);

/* Fills opts with defaults: 1 thread, default rules and batch options. */
void al_pipeline_opts_init(al_pipeline_opts_t *opts);

/* Runs the read path (and delivery, with a sender) over all inputs. inputs must have npaths
 * entries; it is filled for each input. stats receives the merged counters.
 * @return AL_ERR_OK when the run completed, even if some inputs broke midway
 * (see inputs[i].err); otherwise the error that stopped it (diag filled):
 * an input that cannot be opened, the reject or failed file, NOMEM, THREAD,
 * the sink's error, the sender's (CONFIG, HTTP_CLIENT), a checkpoint write,
 * or INTERRUPTED when *stop ended the run before everything was resolved.
 * Lines before each input's start mark count as read and skipped. */
al_err_t al_pipeline_run(const al_pipeline_opts_t *opts, al_input_t *inputs, al_stats_t *stats,
                         al_diag_t *diag);

/* Refuses a run that would read one file twice (the same inode under two
 * names, or '-' twice) or write over one of its inputs. outputs (entries may
 * be NULL) are the files the run will write; roles (NULL, or one per
 * output, entries may be NULL) say what each is ("--report file"), for the
 * message. Nothing is opened.
 * @return AL_ERR_OK, DUPLICATE_INPUT or INPUT_IS_OUTPUT (diag names the
 * input, and in its detail the other name and, for an output, its role).
 * Thread-safety: any thread. */
al_err_t al_pipeline_check_paths(const char *const *paths, uint32_t n, const char *const *outputs,
                                 const char *const *roles, uint32_t nout, al_diag_t *diag);

#endif
