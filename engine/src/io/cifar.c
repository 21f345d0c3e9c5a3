/*
 * cifar.c -- the CIFAR-10 "binary version" (Krizhevsky 2009): headerless records of 1 label byte
 * (0-9) and 3072 pixel bytes (3x32x32, CHW: the red plane, then green, then blue, each row-major),
 * 10,000 records per batch file, gzip'd or plain (zlib reads both). Several files are read into one
 * batch, in the order given (the 50,000-image training set is five files); the files are decoded in
 * parallel, one per thread.
 *
 * Hostile input: every file's length is checked before anything is allocated. A plain file must be a
 * non-zero multiple of 3073 bytes; for a gzip file the trailer's ISIZE (length mod 2^32) must be, and
 * it must be reachable from the compressed size (deflate expands at most 1032x). While reading, a
 * stream that ends early is reported as truncated and one that goes on past ISIZE as corrupt, as is a
 * label outside 0-9. Every message is one line that names the file.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define CIFAR_SIDE 32
#define CIFAR_PIXELS (3 * CIFAR_SIDE * CIFAR_SIDE) /* 3072 */
#define CIFAR_RECORD (1 + CIFAR_PIXELS)            /* 3073 */
#define CIFAR_CLASSES 10
#define CIFAR_MAX_FILES 4096
#define CIFAR_MAX_FILE_BYTES 0xffffffffu /* gzip's ISIZE is exact below 4 GiB; a batch is 30 MB */
#define CIFAR_RECORDS_PER_READ 256

/* [OUT] records: the number of records in the file, from its length (plain) or gzip trailer. */
static nvp_status cifar_count_records(int64_t *records, const char *path) {
    *records = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) return nvp_fail(NVP_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int e = errno;
        fclose(f);
        return nvp_fail(NVP_STATUS_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(f);
        return nvp_fail(NVP_STATUS_IO, "%s: not a regular file", path);
    }
    uint64_t size = (uint64_t)st.st_size;
    unsigned char magic[2] = {0, 0};
    size_t got = fread(magic, 1, 2, f);
    uint64_t length = size;
    const char *what = "the file has";
    if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        unsigned char tail[4];
        if (size < 18 || fseek(f, -4, SEEK_END) != 0 || fread(tail, 1, 4, f) != 4) {
            fclose(f);
            return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: truncated gzip file (%llu bytes)", path,
                            (unsigned long long)size);
        }
        length = (uint64_t)tail[0] | ((uint64_t)tail[1] << 8) | ((uint64_t)tail[2] << 16) |
                 ((uint64_t)tail[3] << 24);
        what = "the gzip trailer promises";
        if (length > size * 1032u) {
            fclose(f);
            return nvp_fail(NVP_STATUS_BAD_FORMAT,
                            "%s: the gzip trailer promises %llu bytes from %llu compressed; truncated or corrupt",
                            path, (unsigned long long)length, (unsigned long long)size);
        }
    }
    fclose(f);
    if (length == 0 || length % CIFAR_RECORD != 0 || length > CIFAR_MAX_FILE_BYTES)
        return nvp_fail(NVP_STATUS_BAD_FORMAT,
                        "%s: %s %llu bytes, not a non-zero multiple of the 3073-byte CIFAR-10 record%s", path,
                        what, (unsigned long long)length,
                        length % CIFAR_RECORD != 0 ? " (truncated or not CIFAR-10)" : "");
    *records = (int64_t)(length / CIFAR_RECORD);
    return NVP_OK;
}

/* zlib's message for gz, without the "path: " that gzerror puts in front of it. */
static const char *cifar_gz_reason(gzFile gz, const char *path, int *errnum) {
    const char *msg = gzerror(gz, errnum);
    size_t len = strlen(path);
    if (strncmp(msg, path, len) == 0 && msg[len] == ':' && msg[len + 1] == ' ') msg += len + 2;
    return msg;
}

/* Read exactly n bytes or fail naming the file and the byte counts. */
static nvp_status cifar_read_exact(gzFile gz, const char *path, unsigned char *dst, uint64_t n, uint64_t at) {
    uint64_t done = 0;
    while (done < n) {
        int got = gzread(gz, dst + done, (unsigned)(n - done));
        if (got < 0) {
            int errnum;
            const char *msg = cifar_gz_reason(gz, path, &errnum);
            return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: corrupt data at byte %llu: %s", path,
                            (unsigned long long)(at + done), msg);
        }
        if (got == 0) {
            int errnum;
            const char *msg = cifar_gz_reason(gz, path, &errnum);
            return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: truncated: expected %llu bytes, got %llu%s%s", path,
                            (unsigned long long)(at + n), (unsigned long long)(at + done),
                            errnum != Z_OK ? ": " : "", errnum != Z_OK ? msg : "");
        }
        done += (uint64_t)got;
    }
    return NVP_OK;
}

/* pixels: (records, 3072), labels: (records) from one file of `records` records (already counted). */
static nvp_status cifar_read_file(uint8_t *pixels, uint8_t *labels, const char *path, int64_t records) {
    gzFile gz = gzopen(path, "rb");
    if (gz == NULL) return nvp_fail(NVP_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    gzbuffer(gz, 1u << 17);
    unsigned char *buf = malloc((size_t)CIFAR_RECORDS_PER_READ * CIFAR_RECORD);
    if (buf == NULL) {
        gzclose(gz);
        return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: out of memory for the read buffer", path);
    }
    nvp_status st = NVP_OK;
    for (int64_t first = 0; first < records && st == NVP_OK; first += CIFAR_RECORDS_PER_READ) {
        int64_t n = records - first < CIFAR_RECORDS_PER_READ ? records - first : CIFAR_RECORDS_PER_READ;
        st = cifar_read_exact(gz, path, buf, (uint64_t)n * CIFAR_RECORD, (uint64_t)first * CIFAR_RECORD);
        for (int64_t i = 0; i < n && st == NVP_OK; i++) {
            const unsigned char *rec = buf + i * CIFAR_RECORD;
            if (rec[0] >= CIFAR_CLASSES) {
                st = nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: record %lld has label %u (expected 0-9)", path,
                              (long long)(first + i), (unsigned)rec[0]);
                break;
            }
            labels[first + i] = rec[0];
            memcpy(pixels + (first + i) * CIFAR_PIXELS, rec + 1, CIFAR_PIXELS);
        }
    }
    if (st == NVP_OK) {
        /* The stream must end here: more data means the length check was fooled (e.g. gzip members). */
        unsigned char extra;
        int got = gzread(gz, &extra, 1);
        if (got != 0) {
            int errnum;
            const char *msg = cifar_gz_reason(gz, path, &errnum);
            st = nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: %s after %lld records", path,
                          got > 0 ? "more data than its length promises" : msg, (long long)records);
        }
    }
    free(buf);
    gzclose(gz);
    return st;
}

nvp_status nvp_cifar_read(nvp_images *images, uint8_t **labels, const char *const *paths, int32_t npaths) {
    NVP_CHECK_PTR("nvp_cifar_read", images);
    NVP_CHECK_PTR("nvp_cifar_read", labels);
    NVP_CHECK_PTR("nvp_cifar_read", paths);
    memset(images, 0, sizeof *images);
    *labels = NULL;
    if (npaths < 1 || npaths > CIFAR_MAX_FILES)
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_cifar_read: npaths = %d (expected 1..%d)", (int)npaths,
                        CIFAR_MAX_FILES);
    for (int32_t i = 0; i < npaths; i++)
        if (paths[i] == NULL) return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_cifar_read: paths[%d] is NULL", (int)i);

    /* Count every file's records before allocating anything. */
    int64_t *first = malloc(((size_t)npaths + 1) * sizeof *first);
    if (first == NULL) return nvp_fail(NVP_STATUS_NO_MEMORY, "nvp_cifar_read: out of memory");
    first[0] = 0;
    for (int32_t i = 0; i < npaths; i++) {
        int64_t records;
        nvp_status st = cifar_count_records(&records, paths[i]);
        if (st != NVP_OK) {
            free(first);
            return st;
        }
        first[i + 1] = first[i] + records;
    }
    int64_t count = first[npaths];
    uint8_t *pixels = nvp_alloc((size_t)count * CIFAR_PIXELS);
    uint8_t *labs = nvp_alloc((size_t)count);
    nvp_status *status = calloc((size_t)npaths, sizeof *status);
    char (*message)[512] = calloc((size_t)npaths, sizeof *message);
    if (pixels == NULL || labs == NULL || status == NULL || message == NULL) {
        nvp_free(pixels);
        nvp_free(labs);
        free(status);
        free(message);
        free(first);
        return nvp_fail(NVP_STATUS_NO_MEMORY, "nvp_cifar_read: out of memory for %lld images",
                        (long long)count);
    }

    /* One file per thread; a failure's message is thread-local, so carry it back by hand. */
#pragma omp parallel for schedule(dynamic, 1) if (npaths > 1)
    for (int32_t i = 0; i < npaths; i++) {
        status[i] = cifar_read_file(pixels + first[i] * CIFAR_PIXELS, labs + first[i], paths[i],
                                    first[i + 1] - first[i]);
        if (status[i] != NVP_OK) snprintf(message[i], sizeof message[i], "%s", nvp_last_error());
    }

    nvp_status st = NVP_OK;
    for (int32_t i = 0; i < npaths && st == NVP_OK; i++)
        if (status[i] != NVP_OK) st = nvp_fail(status[i], "%s", message[i]);
    free(status);
    free(message);
    free(first);
    if (st != NVP_OK) {
        nvp_free(pixels);
        nvp_free(labs);
        return st;
    }
    images->data = pixels;
    images->count = count;
    images->channels = 3;
    images->height = CIFAR_SIDE;
    images->width = CIFAR_SIDE;
    *labels = labs;
    return NVP_OK;
}
