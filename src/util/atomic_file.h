/* atomic_file.h — files the program writes are written atomically and carry a checksum.
 *
 * Writing goes to "<path>.tmp.<pid>.<n>" in the same directory; commit() flushes, fsyncs the file,
 * renames it over <path> and fsyncs the directory, so a crash or kill at any moment leaves either the
 * previous version or the new one, never a mix. abort() (or a failed commit) removes the temporary.
 * The running CRC-32 of everything written is kept so formats can store it in a trailer/header. */
#ifndef SBIR_ATOMIC_FILE_H
#define SBIR_ATOMIC_FILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sbir_afile sbir_afile;

sbir_afile *afile_open(const char *path);           /* NULL + sbir_error on failure */
int afile_write(sbir_afile *f, const void *data, size_t n);
uint32_t afile_crc(const sbir_afile *f);             /* CRC-32 of all bytes written so far */
uint64_t afile_size(const sbir_afile *f);
int afile_commit(sbir_afile *f);                     /* frees f in all cases */
void afile_abort(sbir_afile *f);                     /* frees f, removes the temporary */

/* Whole-buffer convenience: write data to path atomically. */
int write_file_atomic(const char *path, const void *data, size_t n);

/* Reads a whole file into a malloc'd buffer (NUL-terminated for convenience), refusing files larger
 * than max_bytes. */
int read_file_all(const char *path, size_t max_bytes, unsigned char **out, size_t *out_len);

/* CRC-32 (IEEE, as zlib): crc = sbir_crc32(0, p, n) then chain. */
uint32_t sbir_crc32(uint32_t crc, const void *data, size_t n);

#endif
