/* fuzz_qd_npy.c — libFuzzer target: the Quick, Draw! reader on numpy bitmap .npy files. */
#include "fuzz_qd_reader.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_setup_env();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_qd_file("input.npy", data, size); }
