/* shard_open.c — opening one shard of a sharded index (shards.h), refusing any file that is not the
 * one the manifest lists: missing, truncated, replaced by another build's shard, or corrupt. The
 * cheap checks (size, the CRC recorded in the file's trailer) come first so the common mistakes get a
 * message that says what happened; index_open then verifies the whole-file CRC and the structure. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/shards.h"
#include "util/common.h"

static int check_file(const char *manifest_path, const shard_manifest *m, int s) {
    const shard_file *sf = &m->shards[s];
    int fd = open(sf->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sbir_error("%s: shard %d of %d is %s (%s lists it): copy it next to the manifest or rebuild with "
                          "sbir index --shards %d",
                          sf->path, s, m->n, errno == ENOENT ? "missing" : strerror(errno), manifest_path, m->n);
    struct stat st;
    unsigned char t[16];
    int rc = SBIR_OK;
    if (fstat(fd, &st) != 0) rc = sbir_error("%s: %s", sf->path, strerror(errno));
    else if ((uint64_t)st.st_size != sf->bytes)
        rc = sbir_error("%s: shard %d of %d has %lld bytes but %s records %llu: truncated, or from another build", sf->path,
                        s, m->n, (long long)st.st_size, manifest_path, (unsigned long long)sf->bytes);
    else if (st.st_size < 16 || pread(fd, t, 16, st.st_size - 16) != 16 || memcmp(t, "SBIRIEND", 8) != 0)
        rc = sbir_error("%s: shard %d of %d does not end like an index file (damaged)", sf->path, s, m->n);
    else {
        uint32_t crc;
        memcpy(&crc, t + 8, 4);
        if (crc != sf->crc)
            rc = sbir_error("%s: shard %d of %d has checksum %08x but %s records %08x: a shard from another build "
                            "(rebuild with sbir index --shards %d)",
                            sf->path, s, m->n, crc, manifest_path, sf->crc, m->n);
    }
    close(fd);
    return rc;
}

/* The shard agrees with the manifest on everything the merge relies on. */
static int check_header(const char *manifest_path, const shard_manifest *m, int s, const sbir_index *ix) {
    const char *p = m->shards[s].path;
    if (index_count(ix) != m->shards[s].count)
        return sbir_error("%s: %lld rows, but %s records %lld", p, (long long)index_count(ix), manifest_path,
                          (long long)m->shards[s].count);
    if (strcmp(index_fingerprint(ix), m->fingerprint) != 0)
        return sbir_error("%s: built with model %s, but %s records model %s", p, index_fingerprint(ix), manifest_path,
                          m->fingerprint);
    if (index_dim_content(ix) != m->dim_content || index_dim_style(ix) != m->dim_style || index_elem(ix) != m->elem)
        return sbir_error("%s: embedding sizes or element type differ from %s's", p, manifest_path);
    int nc = index_n_classes(ix), ns = index_n_styles(ix);
    const char **names = mallocCheck(sizeof(char *) * (size_t)(nc + ns + 1));
    for (int i = 0; i < nc; i++) names[i] = index_class_name(ix, i);
    for (int i = 0; i < ns; i++) names[nc + i] = index_style_name(ix, i);
    uint32_t crc = shard_labels_crc(nc, names, ns, names + nc);
    free(names);
    if (crc != m->labels_crc) return sbir_error("%s: class or style names differ from %s's", p, manifest_path);
    return SBIR_OK;
}

sbir_index *shard_open(const char *manifest_path, const shard_manifest *m, int s, int flags) {
    if (s < 0 || s >= m->n) {
        sbir_error("%s: no shard %d (it has %d)", manifest_path, s, m->n);
        return NULL;
    }
    if (check_file(manifest_path, m, s) != SBIR_OK) return NULL;
    sbir_index *ix = index_open(m->shards[s].path, flags);
    if (!ix) return NULL;
    if (check_header(manifest_path, m, s, ix) != SBIR_OK) {
        index_close(ix);
        return NULL;
    }
    return ix;
}
