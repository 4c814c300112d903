/* index_format.h — internal to src/index: the on-disk layout of index files shared by the writer
 * (index_write.c) and the reader (index_file.c). The format is described in index_file.h. */
#ifndef SBIR_INDEX_FORMAT_H
#define SBIR_INDEX_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "index/matrix.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "index files are mapped as little-endian arrays"
#endif

#define IDX_MAGIC "SBIRIDX1"
#define IDX_END "SBIRIEND"
#define IDX_VERSION 1u
#define IDX_HEADER 512u
#define IDX_TRAILER 16u
#define IDX_ALIGN 64u

#define IDX_FLAG_PREFILTER 1u
#define IDX_FLAG_PATHS 2u

/* Header field offsets. */
enum {
    H_VERSION = 8,
    H_HSIZE = 12,
    H_COUNT = 16,
    H_DC = 24,
    H_DS = 28,
    H_ELEM = 32,
    H_FLAGS = 36,
    H_NCLS = 40,
    H_NSTY = 44,
    H_PRE_C_NORM = 48,
    H_PRE_S_NORM = 52,
    H_FSIZE = 56,
    H_SECTIONS = 64, /* 16 x {u64 offset, u64 length} */
    H_CRC = 508,
};

/* Sections, in file order. */
enum {
    SEC_STRINGS,
    SEC_ITEMS,
    SEC_CONTENT,
    SEC_STYLE,
    SEC_CONTENT_SCALE,
    SEC_STYLE_SCALE,
    SEC_PRE_C_CODES,
    SEC_PRE_C_SCALE,
    SEC_PRE_C_ERR,
    SEC_PRE_S_CODES,
    SEC_PRE_S_SCALE,
    SEC_PRE_S_ERR,
    SEC_PATH_OFFS,
    SEC_PATH_BLOB,
    SEC_COUNT
};
#define IDX_MAX_SECTIONS 16

/* Limits that keep a hostile header from asking for absurd work or memory. */
#define IDX_MAX_DIM 65536
#define IDX_MAX_LABELS (1 << 20)
#define IDX_MAX_NAME 4096
#define IDX_MAX_COUNT ((uint64_t)1 << 40)
#define IDX_VARIABLE UINT64_MAX /* section whose length is not implied by the header */

static inline void idx_put_u32(unsigned char *b, uint32_t v) { memcpy(b, &v, 4); }
static inline void idx_put_u64(unsigned char *b, uint64_t v) { memcpy(b, &v, 8); }
static inline uint32_t idx_get_u32(const unsigned char *b) {
    uint32_t v;
    memcpy(&v, b, 4);
    return v;
}
static inline uint64_t idx_get_u64(const unsigned char *b) {
    uint64_t v;
    memcpy(&v, b, 8);
    return v;
}
static inline uint64_t idx_align(uint64_t x) { return (x + IDX_ALIGN - 1) & ~(uint64_t)(IDX_ALIGN - 1); }

/* The length each section must have (0: absent, IDX_VARIABLE: strings/path blob). Returns -1 if a
 * length overflows 64 bits. */
int idx_expected_lengths(uint64_t n, uint32_t dc, uint32_t ds, sbir_elem elem, uint32_t flags, uint64_t len[SEC_COUNT]);

/* 1 if s[0..n) is well-formed UTF-8 with no NUL byte. */
int idx_utf8_ok(const unsigned char *s, size_t n);

#endif
