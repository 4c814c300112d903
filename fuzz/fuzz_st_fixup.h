/* fuzz_st_fixup.h — shared by the safetensors and model targets. sbir's safetensors files carry a CRC-32
 * in the metadata ("sbir_crc32": "<8 hex digits>") of the 8-byte length, the header with those 8 digits
 * as '0', and the tensor bytes (src/nn/safetensors.c); a mutation would
 * otherwise be rejected by the checksum before any tensor or metadata check runs. The harness plays the
 * malicious writer: where the header length is plausible and the header holds the key followed by 8
 * characters, it rewrites them with the CRC of the mutated data. */
#ifndef SBIR_FUZZ_ST_FIXUP_H
#define SBIR_FUZZ_ST_FIXUP_H

#include "fuzz_common.h"
#include "util/atomic_file.h"

static void fuzz_fix_st_crc(uint8_t *b, size_t n) {
    if (n < 8) return;
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)b[i] << (8 * i);
    if (hlen > n - 8) return;
    static const char key[] = "\"sbir_crc32\":\"";
    size_t kl = sizeof key - 1;
    uint8_t *h = b + 8;
    for (size_t i = 0; i + kl + 8 <= hlen; i++)
        if (memcmp(h + i, key, kl) == 0) {
            char hex[9];
            memset(h + i + kl, '0', 8);
            uint32_t crc = sbir_crc32(0, b, 8 + (size_t)hlen);
            snprintf(hex, sizeof hex, "%08x", sbir_crc32(crc, b + 8 + hlen, n - 8 - (size_t)hlen));
            memcpy(h + i + kl, hex, 8);
            return;
        }
}

#endif
