/* endpoint.c - which URL a command sends to: one rule for every command
 * (cli.h, cli_resolve_url). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int http_url(const char *u)
{
    return strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0;
}

/* Says, unless quiet, which source lost to the one that chose the URL: a
 * URL nobody asked for is never taken silently. */
static void note_overridden(const char *source, const char *endpoint, const char *region,
                            const char *base, int quiet)
{
    const char *lost = NULL;
    if (quiet)
        return;
    if (endpoint != NULL && region != NULL)
        lost = "--region";
    else if (base != NULL && base[0] != '\0' && (endpoint != NULL || region != NULL))
        lost = "AMPLITUDE_BASE_URL";
    if (lost != NULL)
        fprintf(stderr, "ampload: note: %s is ignored: %s chooses the URL\n", lost, source);
}

int cli_resolve_url(char *out, size_t cap, const char *endpoint, const char *region,
                    const cli_api_urls_t *api, int quiet, const char **source)
{
    const char *base = getenv("AMPLITUDE_BASE_URL");
    if (endpoint != NULL) {
        *source = "--endpoint";
        if (!http_url(endpoint) || strlen(endpoint) >= cap) {
            fprintf(stderr, "ampload: --endpoint '%s' is not an http(s) URL\n", endpoint);
            return EXIT_USAGE;
        }
        snprintf(out, cap, "%s", endpoint);
    } else if (region != NULL) {
        *source = "--region";
        if (strcmp(region, "us") != 0 && strcmp(region, "eu") != 0) {
            fprintf(stderr, "ampload: --region '%s': use us or eu\n", region);
            return EXIT_USAGE;
        }
        snprintf(out, cap, "%s", region[0] == 'e' ? api->eu : api->us);
    } else if (base != NULL && base[0] != '\0') {
        size_t bl = strlen(base), pl = strlen(api->path);
        int has;
        *source = "AMPLITUDE_BASE_URL";
        if (!http_url(base) || bl + pl + 2 > cap) {
            fprintf(stderr, "ampload: AMPLITUDE_BASE_URL '%s' is not an http(s) URL\n", base);
            return EXIT_USAGE;
        }
        /* the host, or the whole URL already ending in the API's path */
        has = bl > pl && base[bl - pl - 1] == '/' && strcmp(base + bl - pl, api->path) == 0;
        snprintf(out, cap, "%s%s%s", base, has || base[bl - 1] == '/' ? "" : "/",
                 has ? "" : api->path);
    } else {
        *source = "the default";
        snprintf(out, cap, "%s", api->us);
    }
    note_overridden(*source, endpoint, region, base, quiet);
    return 0;
}
