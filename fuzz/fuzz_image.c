/* fuzz_image.c — libFuzzer target: the JPEG and PNG decoders through image_probe_mem and
 * image_decode_mem (the format is sniffed from the bytes, so one target covers both; the seeds hold
 * both), then image_fit to a small square in both modes, as loading a network input does.
 *
 * The last input byte picks the size hint (0 / 16 / 48 / 200: full decode and the JPEG DCT scalings).
 * The pixel limit is lowered to 4 megapixels so that a header claiming a big but allowed image does not
 * trip libFuzzer's memory limit; the limit check itself is what is being exercised. A decoded image must
 * have the size the probe reported (DCT-scaled JPEGs: at most that size). */
#include "data/image.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_setup_env();
    image_set_max_pixels((uint64_t)1 << 22);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const int hints[4] = {0, 16, 48, 200};
    int min_side = size ? hints[data[size - 1] & 3] : 0;
    int pw = 0, ph = 0;
    image_format fmt = IMAGE_FORMAT_UNKNOWN;
    int probed = image_probe_mem(data, size, "fuzz.img", &pw, &ph, &fmt) == SBIR_OK;
    if (!probed && !strstr(sbir_last_error(), "fuzz.img")) FUZZ_ABORT("probe error does not name the file: %s", sbir_last_error());
    if (probed && (pw <= 0 || ph <= 0)) FUZZ_ABORT("probe accepted a %dx%d image", pw, ph);
    sbir_image im;
    if (image_decode_mem(data, size, "fuzz.img", min_side, &im) != SBIR_OK) {
        if (im.rgb || im.w || im.h) FUZZ_ABORT("failed decode left an image behind");
        return 0;
    }
    if (!probed) FUZZ_ABORT("decoded an image the probe refused: %dx%d", im.w, im.h);
    if (im.w <= 0 || im.h <= 0 || im.w > pw || im.h > ph)
        FUZZ_ABORT("decoded %dx%d, probe said %dx%d", im.w, im.h, pw, ph);
    if (min_side == 0 && (im.w != pw || im.h != ph)) FUZZ_ABORT("full decode %dx%d, probe said %dx%d", im.w, im.h, pw, ph);
    volatile unsigned sum = 0;
    for (size_t i = 0; i < (size_t)im.w * im.h * 3; i++) sum += im.rgb[i];
    (void)sum;
    for (int mode = 0; mode < 2; mode++) {
        sbir_image fit;
        if (image_fit(&im, 24, (image_fit_mode)mode, &fit) != SBIR_OK) FUZZ_ABORT("image_fit failed: %s", sbir_last_error());
        if (fit.w != 24 || fit.h != 24) FUZZ_ABORT("image_fit gave %dx%d", fit.w, fit.h);
        image_free(&fit);
    }
    image_free(&im);
    return 0;
}
