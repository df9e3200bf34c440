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

/* @return why the URL (of an http(s) scheme) cannot be used, or NULL: no
 * host, an empty port ("host:/" would quietly mean port 80), or a user name
 * or password in it (it would be written to reports and logs; Amplitude
 * takes the key in the body, a proxy's credentials go in https_proxy). */
static const char userinfo_flaw[] =
    "has a user name or password in it (it would be written to reports and logs: give the key "
    "as AMPLITUDE_API_KEY, a proxy's credentials in https_proxy)";

static const char *url_flaw(const char *u)
{
    const char *host = strstr(u, "://") + 3;
    size_t n = strcspn(host, "/?#");
    if (memchr(host, '@', n) != NULL)
        return userinfo_flaw;
    if (n == 0 || host[0] == ':')
        return "has no host";
    if (host[n - 1] == ':')
        return "has an empty port";
    return NULL;
}

/* @return 0, or EXIT_USAGE after saying what is wrong with u, named by what. */
static int check_url(const char *what, const char *u, size_t cap)
{
    const char *flaw = !http_url(u) ? "is not an http(s) URL" : url_flaw(u);
    if (flaw == NULL && strlen(u) >= cap)
        flaw = "is too long";
    if (flaw == NULL)
        return 0;
    /* the URL itself only when it holds no credentials */
    if (flaw == userinfo_flaw)
        fprintf(stderr, "ampload: %s %s\n", what, flaw);
    else
        fprintf(stderr, "ampload: %s '%s' %s\n", what, u, flaw);
    return EXIT_USAGE;
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
        if (check_url("--endpoint", endpoint, cap) != 0)
            return EXIT_USAGE;
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
        if (check_url("AMPLITUDE_BASE_URL", base, cap - pl - 2) != 0)
            return EXIT_USAGE;
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
