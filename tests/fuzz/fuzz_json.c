/* fuzz_json.c - libFuzzer target: the scanner, the event rules and the
 * edits (transform.h).
 *
 * Each input is one line. The target checks that the scanner never reads out
 * of bounds or crashes (the sanitizers see to that) and that its verdict
 * agrees with jansson's, and that every scanner variant (AVX2, SSE2,
 * portable) gives exactly the same result; that the export mapping and the
 * generic edits, applied to the line, give JSON whose scan (built by the
 * edit) is what a fresh scan finds; that an identification's rules (and
 * the form encoding of the line, decoded back) hold up; a disagreement aborts, leaving the input
 * as a crash file to turn into a unit test. */
#include "identify.h"
#include "json.h"
#include "transform.h"
#include "validate.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static al_edits_t edits;
static al_xform_t xf;

/* The edits on the line: the output must be JSON, and its scan true. */
static void check_edit(const char *line, size_t size, const al_rules_t *rules)
{
    const char *out;
    size_t n;
    al_event_t ev, fresh;
    al_reason_t a, b;
    int rc;
    if (!al_edits_active(&edits)) {
        al_diag_t d;
        al_edits_from_export(&edits);
        if (al_edits_rename(&edits, "a=event_type", &d) != AL_ERR_OK ||
            al_edits_set(&edits, "user_id=\"fuzz-user\"", &d) != AL_ERR_OK ||
            al_edits_drop(&edits, "b", &d) != AL_ERR_OK)
            abort();
        edits.skip_ups = 1;
    }
    rc = al_transform(&edits, line, size, &xf, &out, &n, &ev, &a);
    if (rc != 1)
        return;
    if (!al_json_scan(out, n, &fresh.scan))
        abort();
    for (int k = 0; k < AL_KEY_COUNT; k++) {
        const al_jfield_t *x = &ev.scan.field[k], *y = &fresh.scan.field[k];
        if (x->type != y->type || x->seen != y->seen ||
            (y->type != AL_JT_ABSENT && (x->off != y->off || x->len != y->len)))
            abort();
    }
    /* the same verdict from a fresh scan of the output (a time the mapping
     * derived from a date is exempt from the unit check either way) */
    fresh.time_derived = ev.time_derived;
    if (al_event_rules(out, n, rules, &ev, &a) != al_event_rules(out, n, rules, &fresh, &b) ||
        a.code != b.code)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    al_jscan_t r;
    al_event_t ev;
    al_reason_t why;
    al_rules_t rules;
    json_error_t err;
    char reason[256];
    /* A private copy, exactly size bytes long, so ASan catches any over-read. */
    char *line = malloc(size ? size : 1);
    int ours;
    json_t *doc;

    memcpy(line, data, size);
    ours = al_json_scan(line, size, &r);
    {
        static const char *const names[] = {"avx2", "sse2", "scalar"};
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            al_jscan_t v;
            if (al_json_use_simd(names[k]) != 0)
                continue;
            al_json_scan(line, size, &v);
            if (memcmp(&v, &r, sizeof(v)) != 0)
                abort();
        }
        al_json_use_simd("auto");
    }
    doc = json_loadb(line, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (memchr(line, '\0', size) != NULL) {
        /* a raw NUL is never JSON; jansson sometimes takes it for the end */
        if (ours)
            abort();
    } else if (doc == NULL && (strstr(err.text, "too big") || strstr(err.text, "overflow") ||
                               strstr(err.text, "NUL byte in object key"))) {
        /* documented differences: jansson's number range and key limits */
    } else if (ours != (doc != NULL)) {
        abort();
    }
    json_decref(doc);
    al_rules_init(&rules);
    if (!al_event_check(line, size, &rules, &ev, &why))
        al_reason_format(&why, &rules, reason, sizeof(reason));
    check_edit(line, size, &rules);
    {
        /* an identification's rules never pass what is not JSON, and the
         * form encoding of any bytes decodes back to them */
        al_ident_t id;
        char *enc = malloc(AL_FORM_ENCODED_MAX(size) + 1), *dec = malloc(size + 1);
        size_t e, d;
        if (al_ident_check(line, size, &rules, &id, &why) && !ours)
            abort();
        e = al_form_encode(enc, line, size);
        d = al_form_decode(dec, enc, e);
        if (d != size || memcmp(dec, line, size) != 0)
            abort();
        free(enc);
        free(dec);
    }
    free(line);
    return 0;
}
