/*
 * fuzz_pack.c -- libFuzzer harness for the packed cache reader (engine/src/io/pack.c): the input is
 * one pack file. nvp_pack_open must refuse it with one line or accept it with every record inside
 * the payload; an accepted pack then has its first and last images gathered (whole, and mirrored),
 * which reads through the map exactly where the records point.
 */
#include "fuzz_file.h"
#include "nvp.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file_of(data, size);
    nvp_pack pack;
    if (nvp_pack_open(&pack, path) != NVP_OK) {
        if (strlen(nvp_last_error()) == 0 || strchr(nvp_last_error(), '\n') != NULL) abort();
        return 0;
    }
    if (pack.count < 1 || (pack.channels != 1 && pack.channels != 3)) abort();
    int64_t ends[2] = {0, pack.count - 1};
    for (int k = 0; k < 2; k++) {
        int64_t index = ends[k];
        uint32_t h = pack.records ? pack.records[index].height : (uint32_t)pack.height;
        uint32_t w = pack.records ? pack.records[index].width : (uint32_t)pack.width;
        uint8_t *out = malloc((size_t)pack.channels * h * w + 1);
        if (out == NULL) abort();
        uint8_t flip = (uint8_t)k;
        if (nvp_pack_gather(out, &pack, &index, NULL, NULL, &flip, 1, (int32_t)h, (int32_t)w) != NVP_OK) abort();
        fuzz_touch(out, (uint64_t)pack.channels * h * w);
        free(out);
    }
    nvp_pack_close(&pack);
    return 0;
}
