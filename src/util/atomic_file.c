#include "util/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/common.h"

struct sbir_afile {
    char *path, *tmp;
    int fd;
    uint32_t crc;
    uint64_t size;
};

uint32_t sbir_crc32(uint32_t crc, const void *data, size_t n) {
    const unsigned char *p = data;
    while (n > 0) { /* zlib takes uInt lengths */
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}

sbir_afile *afile_open(const char *path) {
    static _Atomic unsigned counter;
    size_t n = strlen(path) + 64;
    sbir_afile *f = callocCheck(1, sizeof *f);
    f->path = strdupCheck(path);
    f->tmp = mallocCheck(n);
    snprintf(f->tmp, n, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        sbir_error("%s: cannot create: %s", f->tmp, strerror(errno));
        free(f->path); free(f->tmp); free(f);
        return NULL;
    }
    return f;
}

int afile_write(sbir_afile *f, const void *data, size_t n) {
    const char *p = data;
    size_t left = n;
    while (left > 0) {
        ssize_t w = write(f->fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            return sbir_error("%s: write failed: %s", f->path, strerror(errno));
        }
        p += w;
        left -= (size_t)w;
    }
    f->crc = sbir_crc32(f->crc, data, n);
    f->size += n;
    return SBIR_OK;
}

uint32_t afile_crc(const sbir_afile *f) { return f->crc; }
uint64_t afile_size(const sbir_afile *f) { return f->size; }

static void afile_free(sbir_afile *f) {
    free(f->path);
    free(f->tmp);
    free(f);
}

void afile_abort(sbir_afile *f) {
    if (!f) return;
    close(f->fd);
    unlink(f->tmp);
    afile_free(f);
}

static void fsync_dir_of(const char *path) {
    char *copy = strdupCheck(path);
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(copy);
}

int afile_commit(sbir_afile *f) {
    int rc = SBIR_OK;
    if (fsync(f->fd) != 0) rc = sbir_error("%s: fsync failed: %s", f->path, strerror(errno));
    if (close(f->fd) != 0 && rc == SBIR_OK) rc = sbir_error("%s: close failed: %s", f->path, strerror(errno));
    if (rc == SBIR_OK && rename(f->tmp, f->path) != 0)
        rc = sbir_error("%s: rename failed: %s", f->path, strerror(errno));
    if (rc != SBIR_OK) unlink(f->tmp);
    else fsync_dir_of(f->path);
    afile_free(f);
    return rc;
}

int write_file_atomic(const char *path, const void *data, size_t n) {
    sbir_afile *f = afile_open(path);
    if (!f) return SBIR_ERR;
    if (afile_write(f, data, n) != SBIR_OK) {
        afile_abort(f);
        return SBIR_ERR;
    }
    return afile_commit(f);
}

int read_file_all(const char *path, size_t max_bytes, unsigned char **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return sbir_error("%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return sbir_error("%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_bytes) {
        fclose(fp);
        return sbir_error("%s: file is %lld bytes, more than the limit of %zu", path, (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = mallocCheck(n + 1);
    size_t got = fread(buf, 1, n, fp);
    fclose(fp);
    if (got != n) {
        free(buf);
        return sbir_error("%s: short read (%zu of %zu bytes)", path, got, n);
    }
    buf[n] = 0;
    *out = buf;
    *out_len = n;
    return SBIR_OK;
}
