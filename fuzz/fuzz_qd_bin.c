/* fuzz_qd_bin.c — libFuzzer target: the Quick, Draw! reader on the binary .bin format. */
#include "fuzz_qd_reader.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_setup_env();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_qd_file("input.bin", data, size); }
