/* keys.c - the API key: from --api-key-file or AMPLITUDE_API_KEY, checked,
 * and kept as the one secret every message is redacted of.
 *
 * The key is never taken on the command line (options.c refuses
 * --api-key): it would show in ps and shell history. Once it is loaded,
 * core dumps are switched off, since every request body in memory holds it.
 */
#include "cli.h"

#include "batch.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

static const char *secret = ""; /* redacted from every message */

const char *cli_secret(void)
{
    return secret;
}

/* Takes the key out of raw (n bytes, from a key file or the environment):
 * surrounding white space is trimmed; anything else that cannot be part of
 * a key is refused with a message naming where it came from.
 * @return 0 with key filled, or an exit code. */
static int take_key(const char *from, const char *raw, size_t n, char *key, size_t cap)
{
    size_t b = 0;
    while (b < n && isspace((unsigned char)raw[b]))
        b++;
    while (n > b && isspace((unsigned char)raw[n - 1]))
        n--;
    if (n == b) {
        fprintf(stderr, "ampload: %s: the key is empty\n", from);
        return EXIT_CONFIG;
    }
    for (size_t i = b; i < n; i++) {
        unsigned char ch = (unsigned char)raw[i];
        if (ch <= ' ' || ch == 0x7f) {
            fprintf(stderr,
                    "ampload: %s: the key has %s inside it (at byte %zu); an API key is one "
                    "word\n  hint: keep only the key, on one line\n",
                    from,
                    ch == '\n' || ch == '\r'  ? "a line break"
                    : ch == ' ' || ch == '\t' ? "white space"
                                              : "a control character",
                    i + 1);
            return EXIT_CONFIG;
        }
    }
    if (n - b > AL_MAX_API_KEY_BYTES || n - b >= cap) {
        fprintf(stderr, "ampload: %s: the key is longer than %d bytes; is it the right file?\n",
                from, AL_MAX_API_KEY_BYTES);
        return EXIT_CONFIG;
    }
    memcpy(key, raw + b, n - b);
    key[n - b] = '\0';
    return 0;
}

/* Reads a key from path (see take_key); opt names the option that gave
 * it. @return 0 or an exit code. */
static int read_key_file(const char *opt, const char *path, char *key, size_t cap)
{
    char raw[AL_MAX_API_KEY_BYTES * 4 + 2], from[PATH_MAX + 32];
    struct stat st;
    FILE *fp;
    size_t n;
    int rc;

    snprintf(from, sizeof(from), "%s %s", opt, path);
    fp = fopen(path, "r");
    if (fp == NULL || fstat(fileno(fp), &st) != 0) {
        fprintf(stderr, "ampload: %s: %s\n", from, strerror(errno));
        if (fp != NULL)
            fclose(fp);
        return EXIT_USAGE;
    }
    if (S_ISDIR(st.st_mode)) {
        fprintf(stderr, "ampload: %s: is a directory\n  hint: name the file that holds the key\n",
                from);
        fclose(fp);
        return EXIT_USAGE;
    }
    n = fread(raw, 1, sizeof(raw), fp);
    rc = ferror(fp);
    fclose(fp);
    if (rc) {
        fprintf(stderr, "ampload: %s: read error\n", from);
        return EXIT_USAGE;
    }
    rc = take_key(from, raw, n, key, cap);
    explicit_bzero(raw, sizeof(raw));
    return rc;
}

int cli_read_secret(const char *opt, const char *file, const char *env, char *key, size_t cap)
{
    const char *env_key = getenv(env);
    int rc;

    key[0] = '\0';
    if (file != NULL) {
        struct stat kst;
        rc = read_key_file(opt, file, key, cap);
        if (rc != 0)
            return rc;
        if (stat(file, &kst) == 0 && (kst.st_mode & 077) != 0)
            fprintf(stderr,
                    "ampload: warning: %s can be read by other users (mode %03o)\n"
                    "  hint: chmod 600 %s\n",
                    file, (unsigned)(kst.st_mode & 0777), file);
    } else if (env_key != NULL && env_key[0] != '\0') {
        rc = take_key(env, env_key, strlen(env_key), key, cap);
        if (rc != 0)
            return rc;
    }
    if (key[0] != '\0') {
        /* keys in memory must not end up in a core file */
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
    }
    return 0;
}

int cli_load_key(cli_settings_t *s)
{
    char *key = s->pipe.batch.api_key;
    int rc = cli_read_secret("--api-key-file", s->api_key_file, "AMPLITUDE_API_KEY", key,
                             sizeof(s->pipe.batch.api_key));
    if (rc != 0)
        return rc;
    secret = key;
    s->send.secret = key; /* redacted from the server's words */
    return 0;
}
