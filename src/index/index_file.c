/* index_file.c — opens index files: mmap, then validate everything before any pointer is handed out.
 * The format is described in index_file.h; the writer is index_write.c. */
#include "index/index_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/index_format.h"
#include "util/atomic_file.h"
#include "util/common.h"

struct sbir_index {
    char *path;
    unsigned char *map;
    size_t size;
    int64_t n;
    int dc, ds;
    sbir_elem elem;
    uint32_t flags;
    char *fingerprint;
    int n_classes, n_styles;
    char **class_names, **style_names;
    const unsigned char *sec[SEC_COUNT];
    uint64_t len[SEC_COUNT];
    sbir_prefilter pre[2];
};

static int mul_ok(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_mul_overflow(a, b, out); }

int idx_expected_lengths(uint64_t n, uint32_t dc, uint32_t ds, sbir_elem elem, uint32_t flags, uint64_t len[SEC_COUNT]) {
    uint64_t es = sbir_elem_size(elem), t;
    memset(len, 0, SEC_COUNT * sizeof len[0]);
    len[SEC_STRINGS] = IDX_VARIABLE;
    if (!mul_ok(n, 16, &len[SEC_ITEMS])) return -1;
    if (!mul_ok(n, dc, &t) || !mul_ok(t, es, &len[SEC_CONTENT])) return -1;
    if (!mul_ok(n, ds, &t) || !mul_ok(t, es, &len[SEC_STYLE])) return -1;
    if (elem == SBIR_ELEM_I8) {
        if (!mul_ok(n, 4, &len[SEC_CONTENT_SCALE])) return -1;
        len[SEC_STYLE_SCALE] = ds ? len[SEC_CONTENT_SCALE] : 0;
    }
    if ((flags & IDX_FLAG_PREFILTER) && elem != SBIR_ELEM_I8) {
        if (!mul_ok(n, dc, &len[SEC_PRE_C_CODES]) || !mul_ok(n, 4, &len[SEC_PRE_C_SCALE])) return -1;
        len[SEC_PRE_C_ERR] = len[SEC_PRE_C_SCALE];
        if (ds) {
            if (!mul_ok(n, ds, &len[SEC_PRE_S_CODES])) return -1;
            len[SEC_PRE_S_SCALE] = len[SEC_PRE_S_ERR] = len[SEC_PRE_C_SCALE];
        }
    }
    if (flags & IDX_FLAG_PATHS) {
        if (n + 1 < n || !mul_ok(n + 1, 8, &len[SEC_PATH_OFFS])) return -1;
        len[SEC_PATH_BLOB] = IDX_VARIABLE;
    }
    return 0; /* a section of length 0 is absent */
}

int idx_utf8_ok(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c == 0) return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        int extra;
        uint32_t cp;
        if ((c & 0xe0) == 0xc0) extra = 1, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0) extra = 2, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0) extra = 3, cp = c & 0x07;
        else return 0;
        if ((size_t)extra >= n - i) return 0; /* sequence cut off by the end */
        for (int k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0; /* overlong, surrogate */
        i += (size_t)extra + 1;
    }
    return 1;
}

static void free_names(char **names, int n) {
    if (!names) return;
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

void index_close(sbir_index *ix) {
    if (!ix) return;
    if (ix->map) munmap(ix->map, ix->size);
    free(ix->fingerprint);
    free_names(ix->class_names, ix->n_classes);
    free_names(ix->style_names, ix->n_styles);
    free(ix->path);
    free(ix);
}

/* Reads one u32-length-prefixed name from the strings section. */
static int read_name(sbir_index *ix, const unsigned char *p, uint64_t len, uint64_t *pos, const char *what, int i,
                     int allow_empty, char **out) {
    if (len - *pos < 4) return sbir_error("%s: strings section ends inside %s %d", ix->path, what, i);
    uint32_t n = idx_get_u32(p + *pos);
    *pos += 4;
    if (n > IDX_MAX_NAME || n > len - *pos)
        return sbir_error("%s: %s %d has length %u, past the strings section", ix->path, what, i, n);
    if ((!allow_empty && n == 0) || !idx_utf8_ok(p + *pos, n))
        return sbir_error("%s: %s %d is empty or not valid UTF-8", ix->path, what, i);
    *out = mallocCheck((size_t)n + 1);
    memcpy(*out, p + *pos, n);
    (*out)[n] = 0;
    *pos += n;
    return SBIR_OK;
}

static int parse_strings(sbir_index *ix) {
    const unsigned char *p = ix->sec[SEC_STRINGS];
    uint64_t len = ix->len[SEC_STRINGS], pos = 0;
    if (read_name(ix, p, len, &pos, "fingerprint", 0, 1, &ix->fingerprint) != SBIR_OK) return SBIR_ERR;
    int nc = ix->n_classes, ns = ix->n_styles;
    ix->n_classes = ix->n_styles = 0; /* count only what was allocated, for index_close */
    ix->class_names = callocCheck((size_t)nc + 1, sizeof(char *));
    for (int i = 0; i < nc; i++, ix->n_classes++)
        if (read_name(ix, p, len, &pos, "class name", i, 0, &ix->class_names[i]) != SBIR_OK) return SBIR_ERR;
    ix->style_names = callocCheck((size_t)ns + 1, sizeof(char *));
    for (int i = 0; i < ns; i++, ix->n_styles++)
        if (read_name(ix, p, len, &pos, "style name", i, 0, &ix->style_names[i]) != SBIR_OK) return SBIR_ERR;
    if (pos != len) return sbir_error("%s: %llu unexpected bytes at the end of the strings section", ix->path,
                                      (unsigned long long)(len - pos));
    return SBIR_OK;
}

static int check_items(sbir_index *ix) {
    const sbir_index_item *it = index_items(ix);
    for (int64_t i = 0; i < ix->n; i++) {
        if (it[i].class_id < -1 || it[i].class_id >= ix->n_classes)
            return sbir_error("%s: item %lld: class id %d outside -1..%d", ix->path, (long long)i, it[i].class_id,
                              ix->n_classes - 1);
        if (it[i].style_id < -1 || it[i].style_id >= ix->n_styles)
            return sbir_error("%s: item %lld: style id %d outside -1..%d", ix->path, (long long)i, it[i].style_id,
                              ix->n_styles - 1);
    }
    return SBIR_OK;
}

static int check_paths(sbir_index *ix) {
    if (!(ix->flags & IDX_FLAG_PATHS)) return SBIR_OK;
    const uint64_t *off = (const uint64_t *)ix->sec[SEC_PATH_OFFS];
    const unsigned char *blob = ix->sec[SEC_PATH_BLOB];
    uint64_t blen = ix->len[SEC_PATH_BLOB];
    if (off[0] != 0 || off[ix->n] != blen)
        return sbir_error("%s: path table offsets do not span the path blob", ix->path);
    for (int64_t i = 0; i < ix->n; i++) {
        if (off[i + 1] <= off[i] || off[i + 1] > blen)
            return sbir_error("%s: path %lld has a bad offset", ix->path, (long long)i);
        uint64_t n = off[i + 1] - off[i] - 1;
        if (blob[off[i] + n] != 0 || !idx_utf8_ok(blob + off[i], (size_t)n))
            return sbir_error("%s: path %lld is not a NUL-terminated UTF-8 string", ix->path, (long long)i);
    }
    return SBIR_OK;
}

/* Header fields and the section table against the file size: nothing is dereferenced before this. */
static int check_layout(sbir_index *ix) {
    const unsigned char *h = ix->map;
    const char *path = ix->path;
    if (memcmp(h, IDX_MAGIC, 8) != 0) return sbir_error("%s: not an sbir index file (bad magic)", path);
    uint32_t version = idx_get_u32(h + H_VERSION);
    if (version != IDX_VERSION)
        return sbir_error("%s: index format version %u, this sbir reads version %u", path, version, IDX_VERSION);
    if (idx_get_u32(h + H_CRC) != sbir_crc32(0, h, H_CRC))
        return sbir_error("%s: header checksum mismatch (corrupt header)", path);
    if (idx_get_u32(h + H_HSIZE) != IDX_HEADER) return sbir_error("%s: unexpected header size", path);
    uint64_t fsize = idx_get_u64(h + H_FSIZE);
    if (fsize != ix->size)
        return sbir_error("%s: file is %zu bytes but its header says %llu (truncated or extended)", path, ix->size,
                          (unsigned long long)fsize);
    uint64_t n = idx_get_u64(h + H_COUNT);
    uint32_t dc = idx_get_u32(h + H_DC), ds = idx_get_u32(h + H_DS), elem = idx_get_u32(h + H_ELEM);
    uint32_t flags = idx_get_u32(h + H_FLAGS), ncls = idx_get_u32(h + H_NCLS), nsty = idx_get_u32(h + H_NSTY);
    if (n > IDX_MAX_COUNT) return sbir_error("%s: item count %llu is absurd", path, (unsigned long long)n);
    if (dc < 1 || dc > IDX_MAX_DIM || ds > IDX_MAX_DIM)
        return sbir_error("%s: dimensions %u/%u outside 1..%d / 0..%d", path, dc, ds, IDX_MAX_DIM, IDX_MAX_DIM);
    if (sbir_elem_size((sbir_elem)elem) == 0 || elem > SBIR_ELEM_I8) return sbir_error("%s: unknown element type %u", path, elem);
    if (flags & ~(IDX_FLAG_PREFILTER | IDX_FLAG_PATHS)) return sbir_error("%s: unknown flags 0x%x", path, flags);
    if (ncls > IDX_MAX_LABELS || nsty > IDX_MAX_LABELS)
        return sbir_error("%s: label counts %u/%u above %d", path, ncls, nsty, IDX_MAX_LABELS);
    ix->n = (int64_t)n, ix->dc = (int)dc, ix->ds = (int)ds, ix->elem = (sbir_elem)elem, ix->flags = flags;
    ix->n_classes = (int)ncls, ix->n_styles = (int)nsty;

    uint64_t want[SEC_COUNT];
    if (idx_expected_lengths(n, dc, ds, ix->elem, flags, want) != 0)
        return sbir_error("%s: %llu items of %u+%u dimensions overflow", path, (unsigned long long)n, dc, ds);
    uint64_t data_end = ix->size - IDX_TRAILER, prev_end = IDX_HEADER;
    for (int s = 0; s < IDX_MAX_SECTIONS; s++) {
        uint64_t off = idx_get_u64(h + H_SECTIONS + 16 * s), len = idx_get_u64(h + H_SECTIONS + 16 * s + 8);
        if (s >= SEC_COUNT) {
            if (off || len) return sbir_error("%s: unknown section %d", path, s);
            continue;
        }
        if (want[s] != IDX_VARIABLE && len != want[s])
            return sbir_error("%s: section %d is %llu bytes, expected %llu", path, s, (unsigned long long)len,
                              (unsigned long long)want[s]);
        if (len == 0) {
            if (off != 0) return sbir_error("%s: empty section %d has an offset", path, s);
            continue;
        }
        /* sections come in order, aligned, without overlap, inside [header, trailer) */
        if (off % IDX_ALIGN != 0 || off < prev_end || off > data_end || len > data_end - off)
            return sbir_error("%s: section %d (offset %llu, %llu bytes) lies outside the file or overlaps", path, s,
                              (unsigned long long)off, (unsigned long long)len);
        prev_end = off + len;
        ix->sec[s] = ix->map + off;
        ix->len[s] = len;
    }
    if (!ix->sec[SEC_STRINGS]) return sbir_error("%s: no strings section", path);
    if ((flags & IDX_FLAG_PATHS) && !ix->sec[SEC_PATH_BLOB] && n > 0) return sbir_error("%s: no path blob", path);
    for (size_t i = H_SECTIONS + 16 * IDX_MAX_SECTIONS; i < H_CRC; i++)
        if (h[i] != 0) return sbir_error("%s: reserved header bytes are not zero (newer or corrupt file)", path);
    if (memcmp(ix->map + data_end, IDX_END, 8) != 0) return sbir_error("%s: bad trailer (truncated or corrupt)", path);
    /* the trailer's last u32 is reserved (0), like the header's reserved bytes: a flip there is damage too */
    if (idx_get_u32(ix->map + data_end + 12) != 0) return sbir_error("%s: bad trailer (reserved field not zero: corrupt)", path);
    return SBIR_OK;
}

sbir_index *index_open(const char *path, int flags) {
    sbir_index *ix = callocCheck(1, sizeof *ix);
    ix->path = strdupCheck(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sbir_error("%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        sbir_error("%s: not a regular file", path);
        goto fail;
    }
    if ((uint64_t)st.st_size < IDX_HEADER + IDX_TRAILER) {
        close(fd);
        sbir_error("%s: %lld bytes, too short for an index file (truncated?)", path, (long long)st.st_size);
        goto fail;
    }
    ix->size = (size_t)st.st_size;
    void *map = mmap(NULL, ix->size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd); /* the mapping keeps the file */
    if (map == MAP_FAILED) {
        sbir_error("%s: mmap failed: %s", path, strerror(errno));
        goto fail;
    }
    ix->map = map;
    if (check_layout(ix) != SBIR_OK) goto fail;
    if (!(flags & SBIR_INDEX_NO_VERIFY)) {
        uint32_t want = idx_get_u32(ix->map + ix->size - IDX_TRAILER + 8);
        if (sbir_crc32(0, ix->map, ix->size - IDX_TRAILER) != want) {
            sbir_error("%s: CRC-32 mismatch (corrupt file)", path);
            goto fail;
        }
    }
    if (parse_strings(ix) != SBIR_OK) goto fail;
    if (check_items(ix) != SBIR_OK || check_paths(ix) != SBIR_OK) goto fail;
    for (int i = 0; i < 2 && (ix->flags & IDX_FLAG_PREFILTER); i++) {
        int dim = i == 0 ? ix->dc : ix->ds;
        if (dim == 0) continue;
        int b = i == 0 ? SEC_PRE_C_CODES : SEC_PRE_S_CODES;
        sbir_prefilter *p = &ix->pre[i];
        p->codes = (sbir_matrix){SBIR_ELEM_I8, ix->n, dim, (size_t)dim, ix->sec[b], (const float *)ix->sec[b + 1], NULL};
        p->err = (const float *)ix->sec[b + 2];
        memcpy(&p->max_norm, ix->map + (i == 0 ? H_PRE_C_NORM : H_PRE_S_NORM), 4);
        if (!(p->max_norm >= 0)) {
            sbir_error("%s: bad prefilter norm", path);
            goto fail;
        }
    }
    return ix;
fail:
    index_close(ix);
    return NULL;
}

const char *index_file_path(const sbir_index *ix) { return ix->path; }
int64_t index_count(const sbir_index *ix) { return ix->n; }
int index_dim_content(const sbir_index *ix) { return ix->dc; }
int index_dim_style(const sbir_index *ix) { return ix->ds; }
sbir_elem index_elem(const sbir_index *ix) { return ix->elem; }
int index_has_prefilter(const sbir_index *ix) { return (ix->flags & IDX_FLAG_PREFILTER) != 0; }
const char *index_fingerprint(const sbir_index *ix) { return ix->fingerprint; }
int index_n_classes(const sbir_index *ix) { return ix->n_classes; }
int index_n_styles(const sbir_index *ix) { return ix->n_styles; }
const char *index_class_name(const sbir_index *ix, int c) { return c >= 0 && c < ix->n_classes ? ix->class_names[c] : NULL; }
const char *index_style_name(const sbir_index *ix, int s) { return s >= 0 && s < ix->n_styles ? ix->style_names[s] : NULL; }

int index_class_id(const sbir_index *ix, const char *name) {
    for (int i = 0; i < ix->n_classes; i++)
        if (strcmp(ix->class_names[i], name) == 0) return i;
    return -1;
}

int index_style_id(const sbir_index *ix, const char *name) {
    for (int i = 0; i < ix->n_styles; i++)
        if (strcmp(ix->style_names[i], name) == 0) return i;
    return -1;
}

const sbir_index_item *index_items(const sbir_index *ix) { return (const sbir_index_item *)ix->sec[SEC_ITEMS]; }
int index_has_paths(const sbir_index *ix) { return (ix->flags & IDX_FLAG_PATHS) != 0; }

const char *index_path(const sbir_index *ix, int64_t i) {
    if (!(ix->flags & IDX_FLAG_PATHS) || i < 0 || i >= ix->n) return NULL;
    return (const char *)ix->sec[SEC_PATH_BLOB] + ((const uint64_t *)ix->sec[SEC_PATH_OFFS])[i];
}

static sbir_matrix view(const sbir_index *ix, int i) {
    int dim = i == 0 ? ix->dc : ix->ds;
    sbir_matrix m = {ix->elem, ix->n, dim, (size_t)dim * sbir_elem_size(ix->elem), ix->sec[SEC_CONTENT + i],
                     (const float *)ix->sec[SEC_CONTENT_SCALE + i], NULL};
    if ((ix->flags & IDX_FLAG_PREFILTER) && dim > 0 && ix->elem != SBIR_ELEM_I8) m.pre = &ix->pre[i];
    return m;
}

sbir_matrix index_content(const sbir_index *ix) { return view(ix, 0); }
sbir_matrix index_style(const sbir_index *ix) { return view(ix, 1); }
