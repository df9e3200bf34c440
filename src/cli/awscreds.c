/* awscreds.c - how objects in buckets are reached: the endpoint, the
 * addressing, the region and the credentials, in the order of AWS's own
 * SDKs, for inputs that are object URLs (core/s3.h).
 *
 * Credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and
 * AWS_SESSION_TOKEN), else the shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials) under the profile
 * AWS_PROFILE (else "default"). Region: AWS_REGION, AWS_DEFAULT_REGION,
 * else the shared config file's (AWS_CONFIG_FILE, else ~/.aws/config).
 * Endpoint: --s3-endpoint, else AWS_ENDPOINT_URL_S3, else
 * AWS_ENDPOINT_URL, else AWS's own. The secret and the token are read
 * into the configuration only: never printed, never in argv.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    char *p = s;
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    while (*p == ' ' || *p == '\t')
        p++;
    memmove(s, p, strlen(p) + 1);
}

/* Reads key of section [section] of an INI file into out[cap].
 * @return 1 when found. */
static int ini_value(const char *path, const char *section, const char *key, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    char line[4608];
    int in = 0, found = 0;
    if (f == NULL)
        return 0;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        char *eq;
        trim(line);
        if (line[0] == '[') {
            char *end = strchr(line, ']');
            if (end != NULL)
                *end = '\0';
            trim(line + 1);
            in = strcmp(line + 1, section) == 0;
            continue;
        }
        eq = strchr(line, '=');
        if (!in || eq == NULL || line[0] == '#' || line[0] == ';')
            continue;
        *eq = '\0';
        trim(line);
        trim(eq + 1);
        if (strcmp(line, key) == 0) {
            snprintf(out, cap, "%s", eq + 1);
            found = 1;
        }
    }
    explicit_bzero(line, sizeof(line));
    fclose(f);
    return found;
}

/* ~/.aws/NAME, or the variable's file. */
static void shared_file(const char *var, const char *name, char *out, size_t cap)
{
    const char *home = env("HOME");
    if (env(var) != NULL)
        snprintf(out, cap, "%s", env(var));
    else
        snprintf(out, cap, "%s/.aws/%s", home != NULL ? home : "", name);
}

static void credentials(al_aws_creds_t *c, const char *profile)
{
    char path[PATH_MAX];
    if (env("AWS_ACCESS_KEY_ID") != NULL && env("AWS_SECRET_ACCESS_KEY") != NULL) {
        snprintf(c->access_key_id, sizeof(c->access_key_id), "%s", env("AWS_ACCESS_KEY_ID"));
        snprintf(c->secret_access_key, sizeof(c->secret_access_key), "%s",
                 env("AWS_SECRET_ACCESS_KEY"));
        if (env("AWS_SESSION_TOKEN") != NULL)
            snprintf(c->session_token, sizeof(c->session_token), "%s", env("AWS_SESSION_TOKEN"));
        return;
    }
    shared_file("AWS_SHARED_CREDENTIALS_FILE", "credentials", path, sizeof(path));
    if (ini_value(path, profile, "aws_access_key_id", c->access_key_id, sizeof(c->access_key_id)) &&
        ini_value(path, profile, "aws_secret_access_key", c->secret_access_key,
                  sizeof(c->secret_access_key)))
        ini_value(path, profile, "aws_session_token", c->session_token, sizeof(c->session_token));
    else
        memset(c, 0, sizeof(*c));
}

static void region(al_s3_conf_t *c, const char *profile)
{
    char path[PATH_MAX], section[160];
    const char *r = env("AWS_REGION") != NULL ? env("AWS_REGION") : env("AWS_DEFAULT_REGION");
    if (r != NULL) {
        snprintf(c->region, sizeof(c->region), "%s", r);
        return;
    }
    shared_file("AWS_CONFIG_FILE", "config", path, sizeof(path));
    if (strcmp(profile, "default") == 0)
        snprintf(section, sizeof(section), "default");
    else
        snprintf(section, sizeof(section), "profile %s", profile);
    ini_value(path, section, "region", c->region, sizeof(c->region));
}

/* @return 1 when an input is an object URL. */
static int any_object(const cli_settings_t *s)
{
    for (uint32_t i = 0; i < s->pipe.npaths; i++)
        if (al_s3_is_url(s->pipe.paths[i]))
            return 1;
    return 0;
}

int cli_object_store(cli_settings_t *s)
{
    al_s3_conf_t *c = &s->s3;
    const char *profile = env("AWS_PROFILE") != NULL ? env("AWS_PROFILE") : "default";
    const char *endpoint = s->s3_endpoint_arg;

    if (!any_object(s))
        return 0;
    if (endpoint == NULL)
        endpoint = env("AWS_ENDPOINT_URL_S3") != NULL ? env("AWS_ENDPOINT_URL_S3")
                                                      : env("AWS_ENDPOINT_URL");
    if (endpoint != NULL && strncmp(endpoint, "http://", 7) != 0 &&
        strncmp(endpoint, "https://", 8) != 0)
        return cli_opt_error(cli_options(), 1u << s->mode,
                             "the object store's endpoint '%s' is not an http(s) URL", endpoint);
    snprintf(c->endpoint, sizeof(c->endpoint), "%s", endpoint != NULL ? endpoint : "");
    c->path_style = s->s3_addressing == 1 || (s->s3_addressing == 0 && endpoint != NULL);
    credentials(&c->creds, profile);
    region(c, profile);
    c->ca_file = s->send.ca_file;
    c->insecure = s->send.insecure;
    c->retry_time_ms = s->send.retry_time_ms;
    c->stall_ms = s->send.request_timeout_ms;
    s->pipe.s3 = c;
    if (c->creds.access_key_id[0] == '\0' && !s->quiet)
        fprintf(stderr, "ampload: note: no AWS credentials (AWS_ACCESS_KEY_ID and "
                        "AWS_SECRET_ACCESS_KEY, or a profile of the shared credentials file): "
                        "requests to the object store are not signed\n");
    return 0;
}
