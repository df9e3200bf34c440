/* opt.h - the option machinery of every command: one typed table row per
 * option, from which argv and the environment are parsed, range errors
 * worded, `--help` laid out, and the option sections of the man pages and
 * of the README written (ampload-optdoc), the way curl's tool_getparam.c
 * and its generated tool_listhelp.c share one source.
 *
 * A program has one table (ampload's in options.c, the mock's in
 * src/mock/mock_opts.c). A row names the commands that take it as bits of
 * the program's own: the same long name may have a row per command, each
 * with its own type, range, default and help. A row either stores its value
 * in a field of the command's settings struct (offset and size), or hands it
 * to a function, or both (the function then checks or adds to what was
 * stored).
 *
 * The environment is applied first and the command line after it, so a
 * flag wins over its variable. A bad value in either is an error naming
 * what the user wrote (the variable for a number, else the flag), never
 * ignored. Nothing here exits.
 *
 * Thread-safety: none needed; call from the main thread before any other
 * starts (getopt_long's state is global).
 */
#ifndef AL_CLI_OPT_H
#define AL_CLI_OPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    OPT_FLAG,   /* no value; a field gets 1 */
    OPT_UINT,   /* a decimal integer in lo..hi; a field gets it times scale */
    OPT_REAL,   /* a decimal number in lo..hi; a field (a double) gets it */
    OPT_TEXT,   /* a field (a const char *) gets the text, borrowed from argv
                 * or the environment for the life of the process */
    OPT_CHOICE, /* one of the words of meta ("auto|keep"); a field (an int)
                 * gets the word's index */
    OPT_WORD,   /* one of the words of meta ("us|eu"); a field (a const
                 * char *) gets the word */
} cli_opt_type_t;

/* A value as parsed: the text as given (NULL for a flag), and its number
 * (OPT_UINT: u; OPT_REAL: d; OPT_CHOICE, OPT_WORD: the word's index in u). */
typedef struct {
    const char *text;
    uint64_t u;
    double d;
} cli_optval_t;

/* What a row's function does beyond storing. target is the command's
 * settings, name what the user wrote ("--shard", "AMPLOAD_SHARD").
 * @return 0; a negative value, which ends parsing and is returned as it is
 * (the caller prints help or the version); or an exit code after a message
 * (cli_opt_error). */
typedef int (*cli_opt_fn)(void *target, const char *name, const cli_optval_t *v);

typedef struct {
    const char *name;  /* the long name, without "--" */
    const char *alias; /* a second long name for the same row, or NULL */
    char short_name;   /* 0: none */
    const char *env;   /* environment variable, or NULL */
    unsigned cmds;     /* the commands that take it (the program's bits) */
    unsigned unlisted; /* of those, the ones whose help and pages omit it */
    cli_opt_type_t type;
    const char *meta;    /* the value's name in help: "N", "PATH"; OPT_CHOICE: the words */
    double lo, hi;       /* OPT_UINT, OPT_REAL: the range */
    size_t off;          /* the field in the command's settings... */
    uint8_t size;        /* ...and its size; 0: no field (fn does the work) */
    uint32_t scale;      /* OPT_UINT: the field holds the value times this; 0 = 1 */
    cli_opt_fn fn;       /* may be NULL */
    const char *section; /* the help heading it is listed under */
    const char *help;    /* one line of --help; `code` in backquotes; {range} = lo..hi */
    const char *deflt;   /* the default, as help says it, or NULL */
    const char *more;    /* what the man page and the manual add, or NULL */
    const char *refusal; /* to a command that does not take it: why, or NULL */
} cli_opt_t;

/* A field of struct type T for a row: .off and .size. */
#define CLI_OPT_FIELD(T, f) .off = offsetof(T, f), .size = sizeof(((T *)0)->f)

/* A program's table and how its commands are named. */
typedef struct {
    const char *prog; /* "ampload", "ampload-mock" */
    const cli_opt_t *rows;
    size_t nrows;
    const char *const *cmd_names; /* the name of bit i ("load", "export"), or NULL
                                   * for a program without commands */
    size_t ncmds;
} cli_optable_t;

/* Prints "PROG: message" and the line that points to --help (of cmd),
 * printf-style. @return 2, the usage error's exit code. */
int cli_opt_error(const cli_optable_t *t, unsigned cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "ampload export" for cmd, "ampload" for the first command, or the
 * program alone. Static storage. */
const char *cli_opt_prog(const cli_optable_t *t, unsigned cmd);

/* Parses the environment, then argv[1..argc), into target for command
 * cmd (one bit). *first gets the index of the first operand (argv is left
 * in getopt_long's order: options first). @return 0; a negative value a
 * row's function returned; or an exit code after a message. */
int cli_opt_parse(const cli_optable_t *t, unsigned cmd, void *target, int argc, char **argv,
                  int *first);

/* @return the row of cmd named name (long name or alias), or NULL. */
const cli_opt_t *cli_opt_find(const cli_optable_t *t, unsigned cmd, const char *name);

/* Writes the option sections of cmd's --help: each heading in table
 * order, then its rows, the help wrapped at 79 columns. */
void cli_opt_help(FILE *out, const cli_optable_t *t, unsigned cmd);

/* Writes to out[cap], comma-separated, the environment variables of cmd's
 * rows, each once. @return the length written. */
size_t cli_opt_env_list(char *out, size_t cap, const cli_optable_t *t, unsigned cmd);

/* Writes text as a paragraph wrapped before column 79; a blank line in
 * text ("\n\n") starts a new paragraph. */
void cli_opt_paragraph(FILE *out, const char *text);

/* The pages: cmd's rows as man page entries (.SS per heading when
 * sections, then .TP entries) or as a Markdown table of option, meaning
 * and default. Rows that command `except` shares (the same row) are left
 * out, so identify's table lists only what differs from the load's;
 * except 0 leaves out nothing. */
void cli_opt_man(FILE *out, const cli_optable_t *t, unsigned cmd, unsigned except, int sections);
void cli_opt_markdown(FILE *out, const cli_optable_t *t, unsigned cmd, unsigned except);

/* The man page entries of cmd's environment variables, each naming its
 * option. */
void cli_opt_man_env(FILE *out, const cli_optable_t *t, unsigned cmd);

#endif
