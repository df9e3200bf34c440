/* optdoc.c - ampload-optdoc: writes the option tables (options.c for
 * ampload, mock_opts.c for ampload-mock) into the man pages and the README,
 * or checks that they are there as the tables say.
 *
 *   ampload-optdoc check FILE...   exit 1 naming each region that differs
 *   ampload-optdoc write FILE...   rewrite the regions in place
 *   ampload-optdoc names           every long option name and environment
 *                                  variable of both programs
 *
 * A region is the text between a begin line and an end line:
 *   roff      .\" options: NAME          ...  .\" end of options
 *   Markdown  <!-- options: NAME -->     ...  <!-- end of options -->
 * NAME is a command: load, identify, export and report (what each takes
 * besides the load's), or mock; load-env (roff) is the load's environment
 * variables. Everything outside the regions is kept as it is:
 * the pages' prose is written by hand, the option entries never are.
 */
#include "cli.h"
#include "mock_opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ROFF_BEGIN ".\\\" options: "
#define ROFF_END   ".\\\" end of options"
#define MD_BEGIN   "<!-- options: "
#define MD_END     "<!-- end of options -->"

/* Writes region `name` of a roff (md = 0) or Markdown page to out.
 * @return 0, or -1 for a name no command has. */
static int region(FILE *out, const char *name, int md)
{
    static const struct {
        const char *name;
        unsigned cmd, except;
        int mock;
    } regions[] = {
        {"load", CLI_CMD_LOAD, 0, 0},
        {"identify", CLI_CMD_IDENTIFY, CLI_CMD_LOAD, 0},
        {"export", CLI_CMD_EXPORT, CLI_CMD_LOAD, 0},
        {"report", CLI_CMD_REPORT, CLI_CMD_LOAD, 0},
        {"mock", 1, 0, 1},
    };
    if (strcmp(name, "load-env") == 0 && !md) {
        cli_opt_man_env(out, cli_options(), CLI_CMD_LOAD);
        return 0;
    }
    for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++) {
        const cli_optable_t *t = regions[i].mock ? mock_options() : cli_options();
        if (strcmp(regions[i].name, name) != 0)
            continue;
        if (md)
            cli_opt_markdown(out, t, regions[i].cmd, regions[i].except);
        else
            cli_opt_man(out, t, regions[i].cmd, regions[i].except, 1);
        return 0;
    }
    return -1;
}

/* The region a begin line opens ("load"), into name[cap]. @return 1 and
 * whether it is Markdown in *md, or 0 for any other line. */
static int begin_line(const char *line, size_t len, char *name, size_t cap, int *md)
{
    const char *p = NULL, *end;
    if (len > strlen(ROFF_BEGIN) && strncmp(line, ROFF_BEGIN, strlen(ROFF_BEGIN)) == 0) {
        p = line + strlen(ROFF_BEGIN);
        end = line + len;
        *md = 0;
    } else if (len > strlen(MD_BEGIN) && strncmp(line, MD_BEGIN, strlen(MD_BEGIN)) == 0) {
        p = line + strlen(MD_BEGIN);
        end = strstr(p, " -->");
        *md = 1;
        if (end == NULL || end > line + len)
            return 0;
    }
    if (p == NULL || (size_t)(end - p) >= cap)
        return 0;
    memcpy(name, p, (size_t)(end - p));
    name[end - p] = '\0';
    return 1;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "ampload-optdoc: %s: %s\n", path, strerror(errno ? errno : EIO));
        free(buf);
        buf = NULL;
    } else {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    if (f != NULL)
        fclose(f);
    return buf;
}

/* The page with its regions made anew, into a memory stream. @return the
 * number of regions, or -1 after a message (an unknown or unclosed one). */
static int remake(const char *path, const char *text, size_t len, FILE *out)
{
    const char *p = text, *stop = text + len;
    int n = 0;
    while (p < stop) {
        const char *nl = memchr(p, '\n', (size_t)(stop - p));
        size_t ll = nl != NULL ? (size_t)(nl - p) : (size_t)(stop - p);
        char name[32];
        int md;
        fwrite(p, 1, ll + (nl != NULL), out);
        p += ll + (nl != NULL);
        if (!begin_line(p - ll - (nl != NULL), ll, name, sizeof(name), &md))
            continue;
        if (region(out, name, md) != 0) {
            fprintf(stderr, "ampload-optdoc: %s: no command '%s' for its options\n", path, name);
            return -1;
        }
        n++;
        /* skip to the end line, which is kept */
        while (p < stop &&
               strncmp(p, md ? MD_END : ROFF_END, strlen(md ? MD_END : ROFF_END)) != 0) {
            const char *e = memchr(p, '\n', (size_t)(stop - p));
            p = e != NULL ? e + 1 : stop;
        }
        if (p >= stop) {
            fprintf(stderr, "ampload-optdoc: %s: the options of '%s' have no end line\n", path,
                    name);
            return -1;
        }
    }
    return n;
}

/* The first line where a and b differ, for the message. */
static size_t first_difference(const char *a, const char *b)
{
    size_t line = 1;
    for (; *a != '\0' && *a == *b; a++, b++)
        line += *a == '\n';
    return line;
}

static int one_file(const char *path, int write)
{
    size_t len = 0, newlen = 0;
    char *text = slurp(path, &len), *made = NULL;
    FILE *mem;
    int n, rc = 0;
    if (text == NULL)
        return 1;
    mem = open_memstream(&made, &newlen);
    n = mem != NULL ? remake(path, text, len, mem) : -1;
    if (mem != NULL)
        fclose(mem);
    if (n <= 0) {
        if (n == 0)
            fprintf(stderr, "ampload-optdoc: %s: no options region\n", path);
        rc = 1;
    } else if (newlen != len || memcmp(made, text, len) != 0) {
        if (write) {
            FILE *f = fopen(path, "wb");
            if (f == NULL || fwrite(made, 1, newlen, f) != newlen || fclose(f) != 0) {
                fprintf(stderr, "ampload-optdoc: %s: %s\n", path, strerror(errno));
                rc = 1;
            } else {
                printf("ampload-optdoc: %s: %d regions written\n", path, n);
            }
        } else {
            fprintf(stderr,
                    "ampload-optdoc: %s: line %zu differs from the option table; run "
                    "'cmake --build build --target docs'\n",
                    path, first_difference(text, made));
            rc = 1;
        }
    } else {
        printf("ampload-optdoc: %s: %d regions as the tables say\n", path, n);
    }
    free(made);
    free(text);
    return rc;
}

/* One name per line, for the test that every option a page names exists. */
static void names(const cli_optable_t *t)
{
    for (size_t i = 0; i < t->nrows; i++) {
        printf("%s\n", t->rows[i].name);
        if (t->rows[i].alias != NULL)
            printf("%s\n", t->rows[i].alias);
        if (t->rows[i].env != NULL)
            printf("%s\n", t->rows[i].env);
    }
}

int main(int argc, char **argv)
{
    int write, rc = 0;
    if (argc == 2 && strcmp(argv[1], "names") == 0) {
        names(cli_options());
        names(mock_options());
        return 0;
    }
    if (argc < 3 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "write") != 0)) {
        fprintf(stderr, "Usage: ampload-optdoc check|write FILE... | names\n");
        return 2;
    }
    write = strcmp(argv[1], "write") == 0;
    for (int i = 2; i < argc; i++)
        rc |= one_file(argv[i], write);
    return rc;
}
