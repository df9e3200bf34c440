/* gen-events.c - deterministic generator of realistic Amplitude events.
 *
 * Writes N NDJSON events shaped like a product-analytics backfill (about 350
 * bytes each: ids, time, session, device facts, nested event and user
 * properties, some non-ASCII text and escapes). With --bad-rate R a share R
 * of the lines is replaced by a bad line drawn from every rejection kind the
 * loader knows; --blank-rate adds blank lines. The same --seed gives the same
 * bytes, so tests and benchmarks can regenerate their inputs.
 *
 * Usage: gen-events [-n N] [--seed S] [--bad-rate R] [--blank-rate R]
 *                   [--insert-id-rate R] [--time-step MS] [--export]
 *                   [--identify] [--users U] [--crlf] [--no-newline-at-end] [-o FILE]
 * Event times start at 2023-11-14 22:13:20 UTC and advance --time-step ms
 * (default 37) per line.
 * With --export the good lines are rows in the shape of Amplitude's Export
 * API (for --from amplitude-export), instead of /batch events.
 * With --identify the lines are identifications for `ampload identify` (of
 * --users users, default 1000): every operation kind, idempotent or not,
 * each line naming a property of its own (s<i>, o<i>, p<i>, a<i>, v<i>,
 * t<i>), so a test can tell from the resulting user properties whether
 * line i was applied, and how often; bad lines break the Identify rules.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 2685821657736338717ULL;
}

static double rnd01(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static const char *const event_types[] = {
    "Page Viewed",     "Button Clicked", "Product Viewed", "Add To Cart", "Checkout Started",
    "Order Completed", "Search",         "Sign Up",        "Login",       "Video Played",
};
static const char *const platforms[] = {"iOS", "Android", "Web"};
static const char *const cities[] = {
    "San Francisco", "S\xc3\xa3o Paulo",
    "Z\xc3\xbcrich", "\xe6\x9d\xb1\xe4\xba\xac",
    "Berlin",        "Paris",
    "Lagos",         "Mumbai",
};
static const char *const countries[] = {
    "United States", "Brazil", "Switzerland", "Japan", "Germany", "France", "Nigeria", "India",
};

static void uuid(char *out)
{
    uint64_t a = rnd(), b = rnd();
    snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
             (unsigned)((b >> 48) & 0x3fff) | 0x8000, (unsigned long long)(b & 0xffffffffffffULL));
}

static double insert_id_rate = 0.5;
static uint64_t time_step = 37; /* ms between events (--time-step) */

static void good_event(FILE *fp, uint64_t i)
{
    char dev[40];
    uint64_t user = rnd() % 100000;
    uint64_t t = 1700000000000ULL + i * time_step + rnd() % 1000;
    int p = (int)(rnd() % 3), c = (int)(rnd() % 8);
    uint64_t shape = rnd() % 10;

    uuid(dev);
    fprintf(fp, "{\"event_type\":\"%s\"", event_types[rnd() % 10]);
    if (shape != 0)
        fprintf(fp, ",\"user_id\":\"user_%06llu@example.com\"", (unsigned long long)user);
    if (shape != 1)
        fprintf(fp, ",\"device_id\":\"%s\"", dev);
    fprintf(fp, ",\"time\":%llu,\"session_id\":%llu", (unsigned long long)t,
            (unsigned long long)(t - t % 1800000));
    if ((double)(rnd() % 1000) < insert_id_rate * 1000)
        fprintf(fp, ",\"insert_id\":\"%016llx%08llx\"", (unsigned long long)rnd(),
                (unsigned long long)(i & 0xffffffff));
    fprintf(
        fp,
        ",\"platform\":\"%s\",\"os_name\":\"%s\",\"app_version\":\"3.%d.%d\",\"country\":\"%s\","
        "\"city\":\"%s\"",
        platforms[p],
        p == 0   ? "ios"
        : p == 1 ? "android"
                 : "chrome",
        (int)(rnd() % 20), (int)(rnd() % 10), countries[c], cities[c]);
    fprintf(fp,
            ",\"event_properties\":{\"product_id\":\"sku-%05d\",\"price\":%d.%02d,\"quantity\":%d,"
            "\"tags\":[\"new\",\"promo\"],\"title\":\"The \\\"Best\\\" caf\\u00e9\"}",
            (int)(rnd() % 100000), (int)(rnd() % 500), (int)(rnd() % 100), 1 + (int)(rnd() % 5));
    fprintf(fp, ",\"user_properties\":{\"plan\":\"%s\",\"cohort\":\"2024-%02d\"}}",
            rnd() % 2 ? "pro" : "free", 1 + (int)(rnd() % 12));
}

/* UTC "YYYY-MM-DD HH:MM:SS.ffffff" of a time in ms (civil_from_days, H. Hinnant). */
static void utc_text(char *out, size_t cap, uint64_t ms, unsigned micro_extra)
{
    int64_t z = (int64_t)(ms / 86400000) + 719468, era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097), sec = (unsigned)(ms / 1000 % 86400);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = (int64_t)yoe + era * 400 + (m <= 2);
    snprintf(out, cap, "%04lld-%02u-%02u %02u:%02u:%02u.%03u%03u", (long long)y, m, d, sec / 3600,
             sec / 60 % 60, sec % 60, (unsigned)(ms % 1000), micro_extra % 1000);
}

/* A row in the shape of Amplitude's Export API (--export): the fields an
 * export carries, server-assigned ones included, times as UTC text. */
static void export_row(FILE *fp, uint64_t i)
{
    char dev[40], id[40], et[40], srv[40], up[40];
    uint64_t user = rnd() % 100000;
    uint64_t t = 1700000000000ULL + i * time_step + rnd() % 1000;
    int p = (int)(rnd() % 3), c = (int)(rnd() % 8);
    uint64_t shape = rnd() % 10;

    uuid(dev);
    uuid(id);
    utc_text(et, sizeof(et), t, (unsigned)(rnd() % 1000));
    utc_text(srv, sizeof(srv), t + 1500, 0);
    utc_text(up, sizeof(up), t + 1700, 0);
    fprintf(fp, "{\"$insert_id\":");
    if (shape == 2)
        fputs("null", fp); /* then uuid stands in */
    else
        fprintf(fp, "\"%016llx%08llx\"", (unsigned long long)rnd(),
                (unsigned long long)(i & 0xffffffff));
    fprintf(
        fp,
        ",\"$insert_key\":null,\"$schema\":null,\"adid\":null,\"amplitude_attribution_ids\":null,"
        "\"amplitude_event_type\":null,\"amplitude_id\":%llu,\"app\":187520,\"city\":\"%s\","
        "\"client_event_time\":\"%s\",\"client_upload_time\":\"%s\",\"country\":\"%s\","
        "\"data\":{\"group_first_event\":{},\"group_ids\":{}},\"data_type\":\"event\","
        "\"device_brand\":null,\"device_carrier\":%s,\"device_family\":\"%s\","
        "\"device_id\":",
        (unsigned long long)(rnd() % 1000000000000ULL), cities[c], et, up, countries[c],
        rnd() % 2 ? "\"Verizon\"" : "null", platforms[p]);
    if (shape == 1)
        fputs("\"\"", fp); /* exports write an absent device_id as "" */
    else
        fprintf(fp, "\"%s\"", dev);
    fprintf(fp,
            ",\"device_manufacturer\":null,\"device_model\":null,\"device_type\":\"%s\","
            "\"dma\":null,\"event_id\":%llu,\"event_properties\":{\"product_id\":\"sku-%05d\","
            "\"price\":%d.%02d,\"title\":\"The \\\"Best\\\" caf\\u00e9\"},\"event_time\":\"%s\","
            "\"event_type\":\"%s\",\"global_user_properties\":{},\"group_properties\":{},"
            "\"groups\":{},\"idfa\":null,\"ip_address\":\"10.%d.%d.%d\","
            "\"is_attribution_event\":false,\"language\":\"English\",\"library\":\"http/2.0\","
            "\"location_lat\":null,\"location_lng\":null,\"os_name\":\"%s\",\"os_version\":\"17\","
            "\"partner_id\":null,\"paying\":null,\"plan\":{},\"platform\":\"%s\","
            "\"processed_time\":\"%s\",\"region\":\"Unknown\",\"sample_rate\":null,"
            "\"server_received_time\":\"%s\",\"server_upload_time\":\"%s\",\"session_id\":%llu,"
            "\"source_id\":null,\"start_version\":null,\"user_creation_time\":\"%s\",\"user_id\":",
            platforms[p], (unsigned long long)(i + 1), (int)(rnd() % 100000), (int)(rnd() % 500),
            (int)(rnd() % 100), et, event_types[rnd() % 10], (int)(rnd() % 256), (int)(rnd() % 256),
            (int)(rnd() % 256),
            p == 0   ? "ios"
            : p == 1 ? "android"
                     : "chrome",
            platforms[p], up, srv, up, (unsigned long long)(t - t % 1800000), srv);
    if (shape == 0)
        fputs("null", fp);
    else
        fprintf(fp, "\"user_%06llu@example.com\"", (unsigned long long)user);
    fprintf(fp,
            ",\"user_properties\":{\"plan\":\"%s\",\"cohort\":\"2024-%02d\"},\"uuid\":\"%s\","
            "\"version_name\":\"3.%d.%d\"}",
            rnd() % 2 ? "pro" : "free", 1 + (int)(rnd() % 12), id, (int)(rnd() % 20),
            (int)(rnd() % 10));
}

static uint64_t users = 1000;

/* Identification i (--identify): kinds 0-4 and 9 are idempotent, 5-8 not. */
static void identification(FILE *fp, uint64_t i)
{
    uint64_t u = i % users;
    fprintf(fp, "{\"user_id\":\"user_%llu@example.com\",", (unsigned long long)u);
    switch (rnd() % 10) {
    case 0:
    case 1:
    case 2:
        fprintf(fp,
                "\"user_properties\":{\"$set\":{\"plan\":\"pro\",\"s%llu\":\"a&b=c+d %%25 "
                "\\\"q\\\" \u00fc\u00df \u65e5\u672c \\u00e9 %llu\"}}}",
                (unsigned long long)i, (unsigned long long)i);
        break;
    case 3:
        fprintf(fp, "\"user_properties\":{\"$setOnce\":{\"o%llu\":%llu}}}", (unsigned long long)i,
                (unsigned long long)i);
        break;
    case 4:
        fprintf(fp,
                "\"user_properties\":{\"p%llu\":\"x\",\"tier\":\"gold\"},"
                "\"platform\":\"iOS\"}",
                (unsigned long long)i);
        break;
    case 5:
    case 6:
        fprintf(fp, "\"user_properties\":{\"$add\":{\"logins\":1,\"a%llu\":1}}}",
                (unsigned long long)i);
        break;
    case 7:
        fprintf(fp, "\"user_properties\":{\"$append\":{\"seen\":\"v%llu\"}}}",
                (unsigned long long)i);
        break;
    case 8:
        fprintf(fp,
                "\"device_id\":\"dev-%llu-abcdef\",\"user_properties\":{\"$postInsert\":"
                "{\"tags\":\"t%llu\"},\"$set\":{\"s%llu\":1}}}",
                (unsigned long long)u, (unsigned long long)i, (unsigned long long)i);
        break;
    default:
        fprintf(fp, "\"user_properties\":{\"$set\":{\"s%llu\":2},\"$unset\":{\"gone\":\"-\"}}}",
                (unsigned long long)i);
        break;
    }
}

/* Identifications that break the Identify rules (--identify --bad-rate). */
static const char *const bad_identifications[] = {
    "{\"user_id\":\"user_1@example.com\",\"user_properties\":{\"$set\":{\"a\":1},\"b\":2}}",
    "{\"user_id\":\"user_1@example.com\",\"user_properties\":{\"$increment\":{\"a\":1}}}",
    "{\"user_id\":\"user_1@example.com\",\"user_properties\":{\"$add\":{\"a\":\"1\"}}}",
    "{\"user_id\":\"user_1@example.com\",\"user_properties\":[1]}",
    "{\"user_id\":\"user_1@example.com\",\"user_properties\":{\"$set\":5}}",
    "{\"user_properties\":{\"$set\":{\"a\":1}}}",
    "{\"user_id\":\"abc\",\"user_properties\":{\"$set\":{\"a\":1}}}",
    "{\"user_id\":\"user_1@example.com\",\"user_properties\":{\"$set\":{\"a\":1}}",
};
#define N_BAD_IDENT (sizeof(bad_identifications) / sizeof(bad_identifications[0]))

/* One line of each kind the loader must refuse. */
static const char *const bad_lines[] = {
    "{\"event_type\":\"a\",\"user_id\":\"user_1@example.com\",}",   /* trailing comma */
    "{\"user_id\":\"user_1@example.com\",\"time\":1700000000000}",  /* no event_type */
    "{\"event_type\":\"Page Viewed\",\"time\":1700000000000}",      /* no ids */
    "{\"event_type\":\"Page Viewed\",\"user_id\":\"abc\"}",         /* short id */
    "{\"event_type\":\"Page Viewed\",\"device_id\":\"Undefined\"}", /* placeholder */
    "{\"event_type\":\"Login\",\"user_id\":\"user_1@example.com\",\"time\":\"2024-01-01\"}",
    "[{\"event_type\":\"Login\",\"user_id\":\"user_1@example.com\"}]",      /* not an object */
    "{\"event_type\":\"Login\",\"user_id\":\"user_\xff\xfe@example.com\"}", /* bad UTF-8 */
    "{\"event_type\":\"Lo\tgin\",\"user_id\":\"user_1@example.com\"}",      /* control char */
    "{\"event_type\":\"Login\",\"user_id\":\"user_1@example.com\",\"price\":NaN}",
    "{\"event_type\":\"Login\",\"user_id\":\"user_1@exa", /* truncated */
    "{\"event_type\":\"Login\",\"user_id\":\"user_1@example.com\",\"user_id\":\"user_2@x.com\"}",
    "{\"event_type\":\"\",\"user_id\":\"user_1@example.com\"}", /* empty type */
    "{\"event_type\":42,\"user_id\":\"user_1@example.com\"}",   /* type not string */
    "{\"event_type\":\"Login\",\"user_id\":\"user_1@example.com\",\"insert_id\":7}",
    "{\"event_type\":\"Login\",\"user_id\":\"\\ud800 lone\"}", /* lone surrogate */
    "{\"event_type\":\"Login\",\"user_id\":12345678}",         /* id not string */
    "{'event_type':'Login'}",                                  /* single quotes */
    "{\"event_type\":\"Login\",\"user_id\":\"user_1@example.com\"} trailing",
    "{\"event_type\":\"Login\",\"device_id\":\"00000000-0000-0000-0000-000000000000\"}",
};
#define N_BAD (sizeof(bad_lines) / sizeof(bad_lines[0]))

static void deep_line(FILE *fp)
{
    fputs("{\"event_type\":\"Deep\",\"user_id\":\"user_1@example.com\",\"event_properties\":", fp);
    for (int d = 0; d < 41; d++)
        fputs("{\"a\":", fp);
    fputs("1", fp);
    for (int d = 0; d < 41; d++)
        fputc('}', fp);
    fputc('}', fp);
}

int main(int argc, char **argv)
{
    uint64_t n = 1000, seed = 1;
    double bad_rate = 0, blank_rate = 0;
    int crlf = 0, no_final_newline = 0, exports = 0, identify = 0;
    const char *out = NULL;
    FILE *fp = stdout;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
        if (strcmp(a, "-n") == 0 && v) {
            n = strtoull(v, NULL, 10), i++;
        } else if (strcmp(a, "--seed") == 0 && v) {
            seed = strtoull(v, NULL, 10), i++;
        } else if (strcmp(a, "--bad-rate") == 0 && v) {
            bad_rate = strtod(v, NULL), i++;
        } else if (strcmp(a, "--blank-rate") == 0 && v) {
            blank_rate = strtod(v, NULL), i++;
        } else if (strcmp(a, "--insert-id-rate") == 0 && v) {
            insert_id_rate = strtod(v, NULL), i++;
        } else if (strcmp(a, "-o") == 0 && v) {
            out = v, i++;
        } else if (strcmp(a, "--time-step") == 0 && v) {
            time_step = strtoull(v, NULL, 10), i++;
        } else if (strcmp(a, "--export") == 0) {
            exports = 1;
        } else if (strcmp(a, "--identify") == 0) {
            identify = 1;
        } else if (strcmp(a, "--users") == 0 && v) {
            users = strtoull(v, NULL, 10), i++;
            if (users == 0)
                users = 1;
        } else if (strcmp(a, "--crlf") == 0) {
            crlf = 1;
        } else if (strcmp(a, "--no-newline-at-end") == 0) {
            no_final_newline = 1;
        } else {
            fprintf(stderr, "usage: gen-events [-n N] [--seed S] [--bad-rate R] [--blank-rate R] "
                            "[--export] [--identify] [--users U] [--crlf] [--no-newline-at-end] "
                            "[-o FILE]\n");
            return 2;
        }
    }
    if (out != NULL) {
        fp = fopen(out, "w");
        if (fp == NULL) {
            perror(out);
            return 1;
        }
    }
    setvbuf(fp, NULL, _IOFBF, 1 << 20);
    rng_state ^= seed * 0x9E3779B97F4A7C15ULL;
    if (rng_state == 0)
        rng_state = 1;
    for (uint64_t i = 0; i < n; i++) {
        double r = rnd01();
        if (r < bad_rate && identify) {
            fputs(bad_identifications[rnd() % N_BAD_IDENT], fp);
        } else if (r < bad_rate) {
            uint64_t k = rnd() % (N_BAD + 1);
            if (k == N_BAD)
                deep_line(fp);
            else
                fputs(bad_lines[k], fp);
        } else if (r < bad_rate + blank_rate) {
            fputs(rnd() % 2 ? "" : "  \t", fp);
        } else if (identify) {
            identification(fp, i);
        } else if (exports) {
            export_row(fp, i);
        } else {
            good_event(fp, i);
        }
        if (i + 1 < n || !no_final_newline)
            fputs(crlf ? "\r\n" : "\n", fp);
    }
    if (fclose(fp) != 0) {
        perror(out ? out : "stdout");
        return 1;
    }
    return 0;
}
