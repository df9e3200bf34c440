/* main.c - the ampload command: picks the subcommand, nothing else.
 *
 *   ampload [load] [options] FILE...   cmd_load.c
 *   ampload check [options] [FILE...]  cmd_check.c
 *   ampload export --start --end -o DIR cmd_export.c
 *   ampload identify [options] FILE... cmd_load.c (the load, for identifications)
 *   ampload report merge R.json...      cmd_report.c
 *
 * A first argument that names no subcommand is the load's own (an option or
 * an input), so `ampload FILE...` keeps meaning `ampload load FILE...`.
 * Settings that concern the whole process are made here, once: SIGPIPE and
 * SIGXFSZ ignored (a closed pipe or a size limit must fail the write that
 * met it, which is handled, not end the run unreported), AMPLOAD_SIMD.
 */
#include "cli.h"

#include "json.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"load", cmd_load},         {"check", cmd_check},   {"export", cmd_export},
    {"identify", cmd_identify}, {"report", cmd_report},
};

int main(int argc, char **argv)
{
    const char *simd = getenv("AMPLOAD_SIMD");

    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    if (simd != NULL && simd[0] != '\0' && al_json_use_simd(simd) != 0) {
        fprintf(stderr,
                "ampload: AMPLOAD_SIMD: '%s' is not available here (auto, avx2, sse2 or "
                "scalar, as the CPU allows)\n",
                simd);
        return EXIT_USAGE;
    }
    for (size_t i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            argv[1] = argv[0]; /* the subcommand's own argv: its options follow */
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    return cmd_load(argc, argv);
}
