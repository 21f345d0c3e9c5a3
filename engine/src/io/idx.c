/*
 * idx.c -- the IDX format of MNIST / Fashion-MNIST (big-endian header, then uint8 data), gzip'd
 * or plain (zlib reads both).
 *
 * Hostile input: the header's dimensions are checked against the file before any allocation. For a
 * plain file the size must match exactly; for a gzip file the trailer's ISIZE (length mod 2^32) must
 * match and the length must be reachable from the compressed size (deflate expands at most 1032x).
 * A file that ends early is reported as truncated, with the byte counts.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAX_SIDE 65535u
#define IDX_MAX_BYTES ((uint64_t)1 << 34) /* 16 GiB: no real dataset in this format is larger */

static uint32_t be32(const unsigned char *b) {
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

/* Check that the file can hold `expected` bytes once decompressed. */
static nvp_status check_length(const char *path, uint64_t expected) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return nvp_fail(NVP_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return nvp_fail(NVP_STATUS_IO, "%s: cannot stat: %s", path, strerror(errno));
    }
    uint64_t size = (uint64_t)st.st_size;
    unsigned char magic[2] = {0, 0};
    size_t got = fread(magic, 1, 2, f);
    nvp_status status = NVP_OK;
    if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        unsigned char tail[4];
        if (size < 18 || fseek(f, -4, SEEK_END) != 0 || fread(tail, 1, 4, f) != 4) {
            status = nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: truncated gzip file (%llu bytes)", path,
                              (unsigned long long)size);
        } else {
            uint32_t isize = (uint32_t)tail[0] | ((uint32_t)tail[1] << 8) | ((uint32_t)tail[2] << 16) |
                             ((uint32_t)tail[3] << 24);
            if (isize != (uint32_t)expected || expected > size * 1032u)
                status = nvp_fail(NVP_STATUS_BAD_FORMAT,
                                  "%s: header promises %llu bytes but the gzip stream holds %u (mod 2^32); "
                                  "truncated or corrupt", path, (unsigned long long)expected, isize);
        }
    } else if (size != expected) {
        status = nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: header promises %llu bytes but the file has %llu%s",
                          path, (unsigned long long)expected, (unsigned long long)size,
                          size < expected ? " (truncated)" : "");
    }
    fclose(f);
    return status;
}

/* Read exactly n bytes or fail naming the file and the shortfall. */
static nvp_status read_exact(gzFile gz, const char *path, void *dst, uint64_t n, uint64_t at) {
    unsigned char *p = dst;
    uint64_t done = 0;
    while (done < n) {
        unsigned chunk = (unsigned)((n - done) > (1u << 30) ? (1u << 30) : (n - done));
        int got = gzread(gz, p + done, chunk);
        if (got < 0) {
            int errnum;
            const char *msg = gzerror(gz, &errnum);
            return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: corrupt data at byte %llu: %s", path,
                            (unsigned long long)(at + done), msg);
        }
        if (got == 0)
            return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: truncated: expected %llu bytes, got %llu", path,
                            (unsigned long long)(at + n), (unsigned long long)(at + done));
        done += (uint64_t)got;
    }
    return NVP_OK;
}

/* Open, read the magic and `ndims` dimensions; leaves the stream positioned at the data. */
static nvp_status read_header(gzFile *out, const char *path, uint32_t want_magic, uint32_t *dims, int ndims) {
    *out = NULL;
    gzFile gz = gzopen(path, "rb");
    if (gz == NULL) return nvp_fail(NVP_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char header[16];
    nvp_status st = read_exact(gz, path, header, 4, 0);
    if (st != NVP_OK) {
        gzclose(gz);
        return st;
    }
    uint32_t magic = be32(header);
    if (magic != want_magic) {
        gzclose(gz);
        return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: bad IDX magic 0x%08x (expected 0x%08x, %s)", path, magic,
                        want_magic, want_magic == IDX_MAGIC_IMAGES ? "uint8 images" : "uint8 labels");
    }
    st = read_exact(gz, path, header + 4, 4 * (uint64_t)ndims, 4);
    if (st != NVP_OK) {
        gzclose(gz);
        return st;
    }
    for (int i = 0; i < ndims; i++) dims[i] = be32(header + 4 + 4 * i);
    *out = gz;
    return NVP_OK;
}

nvp_status nvp_idx_read_images(nvp_images *images, const char *path) {
    NVP_CHECK_PTR("nvp_idx_read_images", images);
    NVP_CHECK_PTR("nvp_idx_read_images", path);
    memset(images, 0, sizeof *images);
    gzFile gz;
    uint32_t dims[3] = {0, 0, 0};
    nvp_status st = read_header(&gz, path, IDX_MAGIC_IMAGES, dims, 3);
    if (st != NVP_OK) return st;
    uint64_t count = dims[0], rows = dims[1], cols = dims[2];
    if (rows == 0 || cols == 0 || rows > IDX_MAX_SIDE || cols > IDX_MAX_SIDE ||
        count * rows * cols > IDX_MAX_BYTES) {
        gzclose(gz);
        return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: absurd IDX image dimensions %llu x %llu x %llu", path,
                        (unsigned long long)count, (unsigned long long)rows, (unsigned long long)cols);
    }
    uint64_t nbytes = count * rows * cols;
    st = check_length(path, 16 + nbytes);
    if (st != NVP_OK) {
        gzclose(gz);
        return st;
    }
    uint8_t *data = nvp_alloc(nbytes);
    if (data == NULL) {
        gzclose(gz);
        return NVP_STATUS_NO_MEMORY;
    }
    st = read_exact(gz, path, data, nbytes, 16);
    gzclose(gz);
    if (st != NVP_OK) {
        nvp_free(data);
        return st;
    }
    images->data = data;
    images->count = (int64_t)count;
    images->channels = 1;
    images->height = (int32_t)rows;
    images->width = (int32_t)cols;
    return NVP_OK;
}

nvp_status nvp_idx_read_labels(uint8_t **labels, int64_t *count, const char *path) {
    NVP_CHECK_PTR("nvp_idx_read_labels", labels);
    NVP_CHECK_PTR("nvp_idx_read_labels", count);
    NVP_CHECK_PTR("nvp_idx_read_labels", path);
    *labels = NULL;
    *count = 0;
    gzFile gz;
    uint32_t n = 0;
    nvp_status st = read_header(&gz, path, IDX_MAGIC_LABELS, &n, 1);
    if (st != NVP_OK) return st;
    st = check_length(path, 8 + (uint64_t)n);
    if (st != NVP_OK) {
        gzclose(gz);
        return st;
    }
    uint8_t *data = nvp_alloc(n);
    if (data == NULL) {
        gzclose(gz);
        return NVP_STATUS_NO_MEMORY;
    }
    st = read_exact(gz, path, data, n, 8);
    gzclose(gz);
    if (st != NVP_OK) {
        nvp_free(data);
        return st;
    }
    *labels = data;
    *count = n;
    return NVP_OK;
}
