/* opt.c - parsing, help and pages from one option table (opt.h).
 *
 * Parsing goes through getopt_long with a long-option array built from the
 * rows of the command at hand, so each command accepts exactly its rows;
 * an option that only another command takes is named as that command's
 * ("--resend-non-idempotent is an option of 'ampload identify'"), and a
 * typo gets the nearest name ("did you mean --concurrency?").
 *
 * The same rows lay out --help, the man page entries and the Markdown
 * tables, so the three cannot drift apart: a range is written once (the
 * row's lo..hi, through {range}), a default once.
 */
#include "opt.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The most rows a command may have (long names and aliases). */
#define MAX_LONG 192
#define WIDTH    79 /* help lines wrap before this column */
#define HELP_COL 24 /* where the help of an option starts */

const char *cli_opt_prog(const cli_optable_t *t, unsigned cmd)
{
    static char prog[64];
    size_t bit = 0;
    while (bit < t->ncmds && !(cmd & (1u << bit)))
        bit++;
    if (t->cmd_names == NULL || bit == 0 || bit >= t->ncmds)
        return t->prog;
    snprintf(prog, sizeof(prog), "%s %s", t->prog, t->cmd_names[bit]);
    return prog;
}

int cli_opt_error(const cli_optable_t *t, unsigned cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", t->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for the options.\n", cli_opt_prog(t, cmd));
    return 2;
}

static int takes(const cli_opt_t *o, unsigned cmd)
{
    return (o->cmds & cmd) != 0;
}

static int listed(const cli_opt_t *o, unsigned cmd)
{
    return takes(o, cmd) && !(o->unlisted & cmd) && o->help != NULL;
}

const cli_opt_t *cli_opt_find(const cli_optable_t *t, unsigned cmd, const char *name)
{
    for (size_t i = 0; i < t->nrows; i++) {
        const cli_opt_t *o = &t->rows[i];
        if (takes(o, cmd) &&
            (strcmp(o->name, name) == 0 || (o->alias != NULL && strcmp(o->alias, name) == 0)))
            return o;
    }
    return NULL;
}

/* ---- values ------------------------------------------------------------- */

static void range_text(const cli_opt_t *o, char *out, size_t cap)
{
    if (o->type == OPT_UINT)
        snprintf(out, cap, "%llu..%llu", (unsigned long long)o->lo, (unsigned long long)o->hi);
    else
        snprintf(out, cap, "%g..%g", o->lo, o->hi);
}

/* Reads text as the row's number into v. @return 0 or 2 after a message. */
static int parse_number(const cli_optable_t *t, unsigned cmd, const cli_opt_t *o, const char *name,
                        const char *text, cli_optval_t *v)
{
    char range[64], *end = NULL;
    int bad;
    range_text(o, range, sizeof(range));
    errno = 0;
    if (o->type == OPT_UINT) {
        bad = text[0] < '0' || text[0] > '9';
        v->u = bad ? 0 : strtoull(text, &end, 10);
        v->d = (double)v->u;
    } else {
        v->d = strtod(text, &end);
        bad = text[0] == '\0' || isnan(v->d);
    }
    if (bad || errno != 0 || *end != '\0')
        return cli_opt_error(t, cmd, "%s: '%s' is not a number in %s", name, text, range);
    if (v->d < o->lo || v->d > o->hi || (o->type == OPT_UINT && v->u > (uint64_t)o->hi))
        return cli_opt_error(t, cmd, "%s: %s is out of range (%s)", name, text, range);
    return 0;
}

/* The index of text among the words of o->meta, or -1. */
static int choice_index(const cli_opt_t *o, const char *text)
{
    const char *w = o->meta;
    size_t n = strlen(text);
    for (int i = 0; w != NULL && *w != '\0'; i++) {
        size_t len = strcspn(w, "|");
        if (len == n && strncmp(w, text, n) == 0)
            return i;
        w += len + (w[len] == '|');
    }
    return -1;
}

/* "--region 'mars': use us or eu": the words of meta, the last after "or". */
static int choice_error(const cli_optable_t *t, unsigned cmd, const cli_opt_t *o, const char *text)
{
    char words[160];
    size_t k = 0;
    const char *last = strrchr(o->meta, '|');
    for (const char *c = o->meta; *c != '\0' && k + 5 < sizeof(words); c++) {
        if (*c != '|') {
            words[k++] = *c;
            continue;
        }
        memcpy(words + k, c == last ? " or " : ", ", c == last ? 4 : 2);
        k += c == last ? 4 : 2;
    }
    words[k] = '\0';
    return cli_opt_error(t, cmd, "--%s '%s': use %s", o->name, text, words);
}

static void store(const cli_opt_t *o, void *target, const cli_optval_t *v)
{
    char *field = (char *)target + o->off;
    uint64_t u = v->u * (o->scale != 0 ? o->scale : 1);
    if (o->size == 0)
        return;
    switch (o->type) {
    case OPT_TEXT:
    case OPT_WORD:
        memcpy(field, &v->text, sizeof(v->text));
        return;
    case OPT_REAL:
        memcpy(field, &v->d, sizeof(v->d));
        return;
    case OPT_FLAG:
    case OPT_CHOICE: {
        int i = o->type == OPT_FLAG ? 1 : (int)v->u;
        memcpy(field, &i, sizeof(i));
        return;
    }
    case OPT_UINT:
        if (o->size == sizeof(uint32_t)) {
            uint32_t x = (uint32_t)u;
            memcpy(field, &x, sizeof(x));
        } else {
            memcpy(field, &u, sizeof(u));
        }
        return;
    }
}

/* Runs one row on a value; name is what the user wrote. */
static int apply(const cli_optable_t *t, unsigned cmd, const cli_opt_t *o, void *target,
                 const char *name, const char *text)
{
    cli_optval_t v = {text, 0, 0};
    int rc;
    if (o->type == OPT_UINT || o->type == OPT_REAL) {
        rc = parse_number(t, cmd, o, name, text, &v);
        if (rc != 0)
            return rc;
    } else if (o->type == OPT_CHOICE || o->type == OPT_WORD) {
        int i = choice_index(o, text);
        if (i < 0)
            return choice_error(t, cmd, o, text);
        v.u = (uint64_t)i;
    }
    store(o, target, &v);
    return o->fn != NULL ? o->fn(target, name, &v) : 0;
}

static int apply_environment(const cli_optable_t *t, unsigned cmd, void *target)
{
    for (size_t i = 0; i < t->nrows; i++) {
        const cli_opt_t *o = &t->rows[i];
        const char *val = o->env != NULL && takes(o, cmd) ? getenv(o->env) : NULL;
        char flag[48];
        int rc;
        if (val == NULL || val[0] == '\0')
            continue;
        /* a number is named by its variable; a text by the flag it stands for */
        snprintf(flag, sizeof(flag), "--%s", o->name);
        rc = apply(t, cmd, o, target, o->type == OPT_UINT || o->type == OPT_REAL ? o->env : flag,
                   val);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- unknown options ---------------------------------------------------- */

/* Edit distance of a and b (each cut to 31 bytes). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strnlen(a, 31), lb = strnlen(b, 31), row[32];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The long name in arg ("--concurency=4" -> "concurency"), or 0. */
static int long_name(const char *arg, char *word, size_t cap)
{
    size_t n;
    if (strncmp(arg, "--", 2) != 0)
        return 0;
    n = strcspn(arg + 2, "=");
    if (n == 0 || n >= cap)
        return 0;
    memcpy(word, arg + 2, n);
    word[n] = '\0';
    return 1;
}

/* An option cmd does not take: another command's (with why it is not
 * this one's), a near miss of one of cmd's, or unknown. @return 2. */
static int unknown_option(const cli_optable_t *t, unsigned cmd, const char *arg)
{
    char word[32];
    const char *pick = NULL;
    size_t best = 3;
    if (!long_name(arg, word, sizeof(word)))
        return cli_opt_error(t, cmd, "unknown option '%s'", arg);
    for (size_t i = 0; i < t->nrows; i++) {
        const cli_opt_t *o = &t->rows[i];
        size_t d = distance(word, o->name);
        if (strcmp(word, o->name) == 0 && !takes(o, cmd)) {
            if (o->refusal != NULL)
                return cli_opt_error(t, cmd, "--%s: %s; not with '%s'", o->name, o->refusal,
                                     cli_opt_prog(t, cmd));
            return cli_opt_error(t, cmd, "--%s is an option of '%s'", o->name,
                                 cli_opt_prog(t, o->cmds & (0u - o->cmds)));
        }
        if (takes(o, cmd) && d < best) {
            best = d;
            pick = o->name;
        }
    }
    if (pick != NULL)
        return cli_opt_error(t, cmd, "unknown option '%s'; did you mean --%s?", arg, pick);
    return cli_opt_error(t, cmd, "unknown option '%s'", arg);
}

/* ---- the command line ---------------------------------------------------- */

/* Fills longopts (val = 256 + row) and shorts with cmd's rows.
 * @return 0, or -1 when the table has more than MAX_LONG names. */
static int build_getopt(const cli_optable_t *t, unsigned cmd, struct option *longopts, char *shorts)
{
    size_t nl = 0, ns = 1;
    shorts[0] = ':';
    for (size_t i = 0; i < t->nrows; i++) {
        const cli_opt_t *o = &t->rows[i];
        int has = o->type == OPT_FLAG ? no_argument : required_argument;
        if (!takes(o, cmd))
            continue;
        if (nl + 2 >= MAX_LONG)
            return -1;
        longopts[nl++] = (struct option){o->name, has, NULL, 256 + (int)i};
        if (o->alias != NULL)
            longopts[nl++] = (struct option){o->alias, has, NULL, 256 + (int)i};
        if (o->short_name != 0) {
            shorts[ns++] = o->short_name;
            if (has == required_argument)
                shorts[ns++] = ':';
        }
    }
    longopts[nl] = (struct option){NULL, 0, NULL, 0};
    shorts[ns] = '\0';
    return 0;
}

static const cli_opt_t *row_of(const cli_optable_t *t, unsigned cmd, int opt)
{
    if (opt >= 256 && opt < 256 + (int)t->nrows)
        return &t->rows[opt - 256];
    for (size_t i = 0; opt > 0 && opt < 256 && i < t->nrows; i++)
        if (t->rows[i].short_name == opt && takes(&t->rows[i], cmd))
            return &t->rows[i];
    return NULL;
}

int cli_opt_parse(const cli_optable_t *t, unsigned cmd, void *target, int argc, char **argv,
                  int *first)
{
    struct option longopts[MAX_LONG];
    char shorts[2 * MAX_LONG + 2];
    int opt, rc;

    if (build_getopt(t, cmd, longopts, shorts) != 0)
        return cli_opt_error(t, cmd, "internal: more than %d options", MAX_LONG);
    rc = apply_environment(t, cmd, target);
    if (rc != 0)
        return rc;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        const cli_opt_t *o = row_of(t, cmd, opt);
        char flag[48];
        if (opt == ':')
            return cli_opt_error(t, cmd, "option %s needs a value", argv[optind - 1]);
        if (o == NULL)
            return unknown_option(t, cmd, argv[optind - 1]);
        snprintf(flag, sizeof(flag), "--%s", o->name);
        rc = apply(t, cmd, o, target, flag, optarg);
        if (rc != 0)
            return rc;
    }
    *first = optind;
    return 0;
}

/* ---- help ------------------------------------------------------------------ */

/* What follows the help line: "(default D; also --alias)". */
static void tail_text(const cli_opt_t *o, char *out, size_t cap)
{
    out[0] = '\0';
    if (o->deflt != NULL && strcmp(o->deflt, "required") == 0)
        snprintf(out, cap, " (required)");
    else if (o->deflt != NULL && o->alias != NULL)
        snprintf(out, cap, " (default %s; also --%s)", o->deflt, o->alias);
    else if (o->deflt != NULL)
        snprintf(out, cap, " (default %s)", o->deflt);
    else if (o->alias != NULL)
        snprintf(out, cap, " (also --%s)", o->alias);
}

/* Writes src to out[cap] with {range} filled in, and backquotes either
 * kept or dropped. */
static void expand(const cli_opt_t *o, const char *src, int keep_quotes, char *out, size_t cap)
{
    size_t k = 0;
    char range[64];
    range_text(o, range, sizeof(range));
    for (const char *c = src; *c != '\0' && k + 1 < cap; c++) {
        if (strncmp(c, "{range}", 7) == 0) {
            k += (size_t)snprintf(out + k, cap - k, "%s", range);
            k = k < cap ? k : cap - 1;
            c += 6;
        } else if (*c != '`' || keep_quotes) {
            out[k++] = *c;
        }
    }
    out[k] = '\0';
}

/* "  -q, --quiet" or "  --threads N": the left column of a help line. */
static size_t left_text(const cli_opt_t *o, char *out, size_t cap)
{
    int n;
    if (o->short_name != 0)
        n = snprintf(out, cap, "  -%c, --%s%s%s", o->short_name, o->name,
                     o->type == OPT_FLAG ? "" : " ", o->type == OPT_FLAG ? "" : o->meta);
    else
        n = snprintf(out, cap, "  --%s%s%s", o->name, o->type == OPT_FLAG ? "" : " ",
                     o->type == OPT_FLAG ? "" : o->meta);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* Writes text from column col, wrapped before WIDTH, continuation lines at
 * HELP_COL. */
static void wrap(FILE *out, const char *text, size_t col)
{
    const char *w = text;
    while (*w != '\0') {
        size_t len = strcspn(w, " ");
        if (w != text && col + 1 + len > WIDTH) {
            fprintf(out, "\n%*s", HELP_COL, "");
            col = HELP_COL;
        } else if (w != text) {
            fputc(' ', out);
            col++;
        }
        fwrite(w, 1, len, out);
        col += len;
        w += len;
        while (*w == ' ')
            w++;
    }
    fputc('\n', out);
}

static void help_row(FILE *out, const cli_opt_t *o)
{
    char left[96], text[1024], tail[160], line[1200];
    size_t n = left_text(o, left, sizeof(left));
    expand(o, o->help, 0, text, sizeof(text));
    tail_text(o, tail, sizeof(tail));
    snprintf(line, sizeof(line), "%s%s", text, tail);
    fputs(left, out);
    if (n + 2 > HELP_COL) {
        fputs("  ", out);
        n += 2;
    } else {
        fprintf(out, "%*s", (int)(HELP_COL - n), "");
        n = HELP_COL;
    }
    wrap(out, line, n);
}

void cli_opt_help(FILE *out, const cli_optable_t *t, unsigned cmd)
{
    const char *done[32];
    size_t ndone = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        const char *sec = t->rows[i].section;
        int seen = 0;
        if (!listed(&t->rows[i], cmd))
            continue;
        for (size_t k = 0; k < ndone; k++)
            seen |= strcmp(done[k], sec) == 0;
        if (seen || ndone == sizeof(done) / sizeof(done[0]))
            continue;
        done[ndone++] = sec;
        fprintf(out, "%s%s:\n", ndone > 1 ? "\n" : "", sec);
        for (size_t j = i; j < t->nrows; j++)
            if (listed(&t->rows[j], cmd) && strcmp(t->rows[j].section, sec) == 0)
                help_row(out, &t->rows[j]);
    }
}

size_t cli_opt_env_list(char *out, size_t cap, const cli_optable_t *t, unsigned cmd)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < t->nrows; i++) {
        const cli_opt_t *o = &t->rows[i];
        int dup = 0, n;
        if (o->env == NULL || !takes(o, cmd))
            continue;
        for (size_t j = 0; j < i; j++)
            dup |= t->rows[j].env != NULL && takes(&t->rows[j], cmd) &&
                   strcmp(t->rows[j].env, o->env) == 0;
        if (dup)
            continue;
        n = snprintf(out + k, cap - k, "%s%s", k > 0 ? ", " : "", o->env);
        if (n < 0 || (size_t)n >= cap - k)
            break;
        k += (size_t)n;
    }
    return k;
}

void cli_opt_paragraph(FILE *out, const char *text)
{
    size_t col = 0;
    for (const char *w = text; *w != '\0';) {
        size_t len = strcspn(w, " \n");
        if (col > 0 && col + 1 + len > WIDTH) {
            fputc('\n', out);
            col = 0;
        } else if (col > 0) {
            fputc(' ', out);
            col++;
        }
        fwrite(w, 1, len, out);
        col += len;
        w += len;
        if (*w == '\n' && w[1] == '\n') { /* a blank line: a new paragraph */
            fputs(col > 0 ? "\n\n" : "\n", out);
            col = 0;
        }
        while (*w == ' ' || *w == '\n')
            w++;
    }
    if (col > 0)
        fputc('\n', out);
}

/* ---- pages ----------------------------------------------------------------- */

/* Is o left out of cmd's page because command except shows the same row? */
static int on_page(const cli_opt_t *o, unsigned cmd, unsigned except)
{
    return listed(o, cmd) && !(except != 0 && listed(o, except));
}

/* The whole description: help, more, default and variable. */
static void page_text(const cli_opt_t *o, int keep_quotes, char *out, size_t cap)
{
    char help[1024], more[2048];
    expand(o, o->help, keep_quotes, help, sizeof(help));
    expand(o, o->more != NULL ? o->more : "", keep_quotes, more, sizeof(more));
    snprintf(out, cap, "%s%s%s", help, more[0] != '\0' ? "; " : "", more);
}

/* Writes s in roff: '-' and '\' escaped, `code` bold. */
static void roff(FILE *out, const char *s)
{
    int bold = 0;
    for (; *s != '\0'; s++) {
        if (*s == '-')
            fputs("\\-", out);
        else if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '`')
            fputs((bold = !bold) ? "\\fB" : "\\fR", out);
        else
            fputc(*s, out);
    }
}

static void man_row(FILE *out, const cli_opt_t *o)
{
    char text[4096];
    const char *names[2] = {o->name, o->alias};
    fputs(".TP\n", out);
    if (o->short_name != 0)
        fprintf(out, "\\fB\\-%c\\fR, ", o->short_name);
    for (int k = 0; k < 2 && names[k] != NULL; k++) {
        fputs(k > 0 ? ", \\fB" : "\\fB", out);
        roff(out, "--");
        roff(out, names[k]);
        fputs("\\fR", out);
        if (o->type != OPT_FLAG) {
            int word = o->type == OPT_CHOICE || o->type == OPT_WORD;
            fputs(word ? " " : " \\fI", out);
            roff(out, o->meta);
            fputs(word ? "" : "\\fR", out);
        }
    }
    fputs("\n\\&", out);
    page_text(o, 1, text, sizeof(text));
    roff(out, text);
    if (o->deflt != NULL || o->env != NULL) {
        fputs(" (", out);
        if (o->deflt != NULL) {
            fputs("default ", out);
            roff(out, o->deflt);
        }
        if (o->env != NULL)
            fprintf(out, "%senvironment %s", o->deflt != NULL ? "; " : "", o->env);
        fputs(")", out);
    }
    fputs("\n", out);
}

void cli_opt_man(FILE *out, const cli_optable_t *t, unsigned cmd, unsigned except, int sections)
{
    const char *sec = NULL;
    for (size_t i = 0; i < t->nrows; i++) {
        const cli_opt_t *o = &t->rows[i];
        if (!on_page(o, cmd, except))
            continue;
        /* rows of a section come together in the table: a new heading on change */
        if (sections && (sec == NULL || strcmp(sec, o->section) != 0))
            fprintf(out, ".SS %s\n", o->section);
        sec = o->section;
        man_row(out, o);
    }
}

/* Writes s for a Markdown table cell: '|' escaped. */
static void cell(FILE *out, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '|')
            fputc('\\', out);
        fputc(*s, out);
    }
}

void cli_opt_markdown(FILE *out, const cli_optable_t *t, unsigned cmd, unsigned except)
{
    char text[4096], left[96];
    fputs("| option | meaning | default |\n|---|---|---|\n", out);
    for (size_t i = 0; i < t->nrows; i++) {
        const cli_opt_t *o = &t->rows[i];
        if (!on_page(o, cmd, except))
            continue;
        left_text(o, left, sizeof(left));
        fputs("| `", out);
        cell(out, left + 2);
        if (o->alias != NULL) {
            fputs("`, `--", out);
            cell(out, o->alias);
            if (o->type != OPT_FLAG) {
                fputc(' ', out);
                cell(out, o->meta);
            }
        }
        fputs("` | ", out);
        page_text(o, 1, text, sizeof(text));
        cell(out, text);
        if (o->env != NULL)
            fprintf(out, " (`%s`)", o->env);
        fputs(" | ", out);
        cell(out, o->deflt != NULL ? o->deflt : "—");
        fputs(" |\n", out);
    }
}

void cli_opt_man_env(FILE *out, const cli_optable_t *t, unsigned cmd)
{
    for (size_t i = 0; i < t->nrows; i++) {
        const cli_opt_t *o = &t->rows[i];
        if (o->env == NULL || !takes(o, cmd))
            continue;
        fprintf(out, ".TP\n.B %s\n\\fB", o->env);
        roff(out, "--");
        roff(out, o->name);
        fputs("\\fR, which the command line outranks\n", out);
    }
}
