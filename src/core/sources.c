/* sources.c - inputs with zip archives opened up into their members (sources.h). */
#include "sources.h"

#include "fileid.h"

#include "reader.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int al_natural_cmp(const char *a, const char *b)
{
    while (*a != '\0' && *b != '\0') {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            const char *ea = a, *eb = b;
            size_t la, lb;
            while (*a == '0' && isdigit((unsigned char)a[1]))
                a++; /* leading zeros do not make a number larger */
            while (*b == '0' && isdigit((unsigned char)b[1]))
                b++;
            for (ea = a; isdigit((unsigned char)*ea); ea++)
                ;
            for (eb = b; isdigit((unsigned char)*eb); eb++)
                ;
            la = (size_t)(ea - a);
            lb = (size_t)(eb - b);
            if (la != lb)
                return la < lb ? -1 : 1;
            for (; a < ea; a++, b++)
                if (*a != *b)
                    return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

int al_member_is_event(const char *name)
{
    const char *base = strrchr(name, '/');
    size_t len = strlen(name);
    if (len == 0 || name[len - 1] == '/')
        return 0;
    if (strncmp(name, "__MACOSX/", 9) == 0 || strstr(name, "/__MACOSX/") != NULL)
        return 0;
    base = base != NULL ? base + 1 : name;
    return base[0] != '.';
}

enum { KIND_OTHER, KIND_ZIP, KIND_PLAIN };

/* What path is: a regular file starting like a zip archive, a plain
 * (uncompressed) regular file, or anything else - a stream, a compressed
 * file, a file that cannot be opened (the reader says why, in its words).
 * *size gets a regular file's size. */
static int file_kind(const char *path, uint64_t *size)
{
    unsigned char m[4];
    struct stat st;
    ssize_t k;
    int fd;
    *size = 0;
    memset(&st, 0, sizeof(st));
    if (strcmp(path, "-") == 0 || al_input_is_stream(path))
        return KIND_OTHER;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return KIND_OTHER;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        *size = (uint64_t)st.st_size;
    k = pread(fd, m, sizeof(m), 0);
    close(fd);
    if (k == (ssize_t)sizeof(m) && al_zip_sniff(m, sizeof(m)))
        return KIND_ZIP;
    if (k >= 2 && m[0] == 0x1f && m[1] == 0x8b)
        return KIND_OTHER; /* gzip */
    if (k == 4 && ((m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) ||
                   ((m[0] & 0xf0) == 0x50 && m[1] == 0x2a && m[2] == 0x4d && m[3] == 0x18)))
        return KIND_OTHER; /* zstd */
    return S_ISREG(st.st_mode) ? KIND_PLAIN : KIND_OTHER;
}

typedef struct {
    uint64_t index;
    const char *name;
    uint64_t stored;
} member_t;

static int member_order(const void *a, const void *b)
{
    const member_t *x = a, *y = b;
    int c = al_natural_cmp(x->name, y->name);
    return c != 0 ? c : strcmp(x->name, y->name);
}

static al_err_t grow(al_sources_t *s, uint32_t *cap, uint64_t more, al_diag_t *diag,
                     const char *path)
{
    al_source_t *v;
    if ((uint64_t)s->n + more <= *cap)
        return AL_ERR_OK;
    if ((uint64_t)s->n + more > AL_MAX_INPUTS) {
        al_diag_set(diag, path, 0);
        snprintf(diag->detail, sizeof(diag->detail),
                 "more than %u inputs once archives are opened up", AL_MAX_INPUTS);
        return AL_ERR_INVALID_ARG;
    }
    while ((uint64_t)s->n + more > *cap)
        *cap = *cap ? *cap * 2 : 16;
    v = realloc(s->v, sizeof(*v) * *cap);
    if (v == NULL)
        return AL_ERR_NOMEM;
    s->v = v;
    return AL_ERR_OK;
}

/* @return 1 when the base name of the member name is skip (NULL: none). */
static int base_is(const char *name, const char *skip)
{
    const char *base = strrchr(name, '/');
    return skip != NULL && strcmp(base != NULL ? base + 1 : name, skip) == 0;
}

/* Lists the event members of the archive at path into s, in natural order,
 * but none whose base name is skip. */
static al_err_t add_archive(al_sources_t *s, uint32_t *cap, const char *path, const char *skip,
                            al_diag_t *diag)
{
    al_zip_t *z, **zips;
    member_t *mem = NULL;
    uint64_t count, nm = 0;
    al_err_t err = al_zip_open(&z, path, diag);

    if (err != AL_ERR_OK)
        return err;
    zips = realloc(s->zips, sizeof(*zips) * (s->nzips + 1));
    if (zips == NULL) {
        al_zip_close(z);
        return AL_ERR_NOMEM;
    }
    s->zips = zips;
    s->zips[s->nzips++] = z; /* freed with the list from here on */
    count = al_zip_count(z);
    mem = calloc(count ? count : 1, sizeof(*mem));
    if (mem == NULL)
        return AL_ERR_NOMEM;
    for (uint64_t i = 0; i < count; i++) {
        al_zip_entry_t e;
        err = al_zip_entry(z, i, &e, diag);
        if (err != AL_ERR_OK)
            goto out;
        if (!al_member_is_event(e.name) || base_is(e.name, skip)) {
            s->members_skipped++;
            continue;
        }
        if (e.unreadable != NULL) {
            al_diag_set(diag, path, 0);
            snprintf(diag->detail, sizeof(diag->detail), "member %s: %s", e.name, e.unreadable);
            err = AL_ERR_ZIP_UNSUPPORTED;
            goto out;
        }
        mem[nm++] = (member_t){i, e.name, e.comp_size};
    }
    qsort(mem, nm, sizeof(*mem), member_order);
    err = grow(s, cap, nm, diag, path);
    for (uint64_t k = 0; k < nm && err == AL_ERR_OK; k++) {
        size_t len = strlen(path) + 1 + strlen(mem[k].name) + 1;
        char *name = malloc(len);
        if (name == NULL) {
            err = AL_ERR_NOMEM;
            break;
        }
        snprintf(name, len, "%s:%s", path, mem[k].name);
        s->v[s->n++] = (al_source_t){name, path, z, mem[k].index, mem[k].stored, 0, NULL, NULL};
    }
out:
    free(mem);
    return err;
}

/* Builds the name and file arrays the other interfaces take. */
static al_err_t index_names(al_sources_t *s)
{
    const char **names = calloc(s->n ? s->n : 1, sizeof(*names));
    const char **files = calloc(s->n ? s->n : 1, sizeof(*files));
    s->names = names;
    s->files = files;
    if (names == NULL || files == NULL)
        return AL_ERR_NOMEM;
    for (uint32_t i = 0; i < s->n; i++) {
        names[i] = s->v[i].name;
        files[i] = s->v[i].path;
    }
    return AL_ERR_OK;
}

al_err_t al_sources_expand(al_sources_t *out, const char *const *paths, uint32_t n, al_diag_t *diag)
{
    return al_sources_expand_skip(out, paths, n, NULL, diag);
}

typedef struct {
    al_sources_t *s;
    uint32_t *cap;
    const char *url; /* as given: its "s3://bucket/" names the objects */
    size_t base;     /* the length of that */
    al_err_t err;
    al_diag_t *diag;
} listed_t;

static int add_object(void *ctx, const al_s3_entry_t *e)
{
    listed_t *l = ctx;
    size_t n = l->base + strlen(e->key) + 1;
    char *url = malloc(n);
    if (url == NULL) {
        l->err = AL_ERR_NOMEM;
        return 1;
    }
    snprintf(url, n, "%.*s%s", (int)l->base, l->url, e->key);
    l->err = grow(l->s, l->cap, 1, l->diag, l->url);
    if (l->err != AL_ERR_OK) {
        free(url);
        return 1;
    }
    l->s->v[l->s->n] = (al_source_t){url, url, NULL, 0, e->size, 0, url, strdup(e->etag)};
    if (l->s->v[l->s->n++].etag == NULL) {
        l->err = AL_ERR_NOMEM;
        return 1;
    }
    l->err = al_file_identity_note(url, e->size, e->etag); /* for the checkpoint */
    return l->err != AL_ERR_OK;
}

/* Lists the objects url names into s. */
static al_err_t add_objects(al_sources_t *s, uint32_t *cap, const char *url, const al_s3_conf_t *s3,
                            al_diag_t *diag)
{
    const char *slash = strchr(url + 5, '/');
    listed_t l = {s,         cap, url, slash != NULL ? (size_t)(slash - url) + 1 : strlen(url),
                  AL_ERR_OK, diag};
    al_err_t err;
    if (s3 == NULL) {
        al_diag_set(diag, url, 0);
        snprintf(diag->detail, sizeof(diag->detail), "objects are not read here");
        return AL_ERR_INVALID_ARG;
    }
    err = al_s3_list(s3, url, add_object, &l, diag);
    return err != AL_ERR_OK ? err : l.err;
}

al_err_t al_sources_expand_skip(al_sources_t *out, const char *const *paths, uint32_t n,
                                const char *skip, al_diag_t *diag)
{
    return al_sources_expand_objects(out, paths, n, skip, NULL, diag);
}

al_err_t al_sources_expand_objects(al_sources_t *out, const char *const *paths, uint32_t n,
                                   const char *skip, const al_s3_conf_t *s3, al_diag_t *diag)
{
    uint32_t cap = 0;
    al_err_t err = AL_ERR_OK;

    memset(out, 0, sizeof(*out));
    for (uint32_t i = 0; i < n && err == AL_ERR_OK; i++) {
        uint64_t size;
        int kind;
        if (al_s3_is_url(paths[i])) {
            err = add_objects(out, &cap, paths[i], s3, diag);
            continue;
        }
        kind = file_kind(paths[i], &size);
        if (kind == KIND_ZIP) {
            err = add_archive(out, &cap, paths[i], skip, diag);
            continue;
        }
        err = grow(out, &cap, 1, diag, paths[i]);
        if (err == AL_ERR_OK)
            out->v[out->n++] =
                (al_source_t){paths[i], paths[i], NULL, 0, size, kind == KIND_PLAIN, NULL, NULL};
    }
    if (err == AL_ERR_OK)
        err = index_names(out);
    if (err != AL_ERR_OK)
        al_sources_free(out);
    return err;
}

void al_sources_free(al_sources_t *s)
{
    if (s == NULL)
        return;
    for (uint32_t i = 0; i < s->n; i++) {
        if (s->v[i].zip != NULL)
            free((char *)s->v[i].name);
        free(s->v[i].own);
        free(s->v[i].etag);
    }
    for (uint32_t i = 0; i < s->nzips; i++)
        al_zip_close(s->zips[i]);
    free(s->v);
    free((void *)s->names);
    free((void *)s->files);
    free(s->zips);
    memset(s, 0, sizeof(*s));
}
