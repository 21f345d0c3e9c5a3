/*
 * pack.c -- the packed cache: a dataset decoded and preprocessed once into one file, memory-mapped
 * for training so that no epoch decodes JPEG again.
 *
 *   bytes [0, 4096)      header: "NVPPACK1", u32 version (1), u32 channels, u64 count,
 *                        u64 payload_offset (4096), u64 payload_bytes, u64 records_offset,
 *                        u32 height, u32 width (0 when sizes vary), u64 fingerprint; little-endian;
 *                        the rest zero
 *   payload              every image's uint8 CHW pixels, one after the other
 *   records              count x {u64 offset (from the payload's start), u32 height, u32 width},
 *                        at records_offset (8-aligned), ending exactly at the end of the file
 *
 * The writer streams the payload to path.tmp.<pid>, then writes the records and the header, fsyncs
 * and renames: a crash or a refused file leaves no half-written pack. nvp_pack_open checks every field
 * and every record (within the payload, in order, not overlapping, the header's fixed size if any)
 * against the file's size before anything is read through the map.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PACK_MAGIC "NVPPACK1"
#define PACK_VERSION 1u
#define PACK_HEADER_BYTES 4096u
#define PACK_MAX_SIDE 65535u

struct nvp_pack_writer {
    FILE *f;
    char *path;
    char *tmp;
    int32_t channels;
    uint64_t fingerprint;
    uint64_t payload_bytes;
    int64_t count, capacity;
    nvp_pack_record *records;
    int32_t height, width; /* the common size so far; -1 once sizes differ */
};

static atomic_uint pack_tmp_seq;

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void writer_free(nvp_pack_writer *w) {
    if (w == NULL) return;
    if (w->f != NULL) fclose(w->f);
    free(w->path);
    free(w->tmp);
    free(w->records);
    free(w);
}

nvp_status nvp_pack_writer_open(nvp_pack_writer **writer, const char *path, int32_t channels, uint64_t fingerprint) {
    NVP_CHECK_PTR("nvp_pack_writer_open", writer);
    NVP_CHECK_PTR("nvp_pack_writer_open", path);
    *writer = NULL;
    if (channels != 1 && channels != 3)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: a pack of %d channels (expected 1 or 3)", path, (int)channels);
    nvp_pack_writer *w = calloc(1, sizeof *w);
    size_t len = strlen(path);
    if (w == NULL || (w->path = malloc(len + 1)) == NULL || (w->tmp = malloc(len + 48)) == NULL) {
        writer_free(w);
        return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: out of memory", path);
    }
    memcpy(w->path, path, len + 1);
    snprintf(w->tmp, len + 48, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&pack_tmp_seq, 1u));
    w->f = fopen(w->tmp, "wb");
    if (w->f == NULL) {
        nvp_status st = nvp_fail(NVP_STATUS_IO, "%s: cannot write: %s", w->tmp, strerror(errno));
        writer_free(w);
        return st;
    }
    w->channels = channels;
    w->fingerprint = fingerprint;
    w->height = w->width = 0;
    static const unsigned char zero[PACK_HEADER_BYTES];
    if (fwrite(zero, 1, PACK_HEADER_BYTES, w->f) != PACK_HEADER_BYTES) {
        nvp_status st = nvp_fail(NVP_STATUS_IO, "%s: cannot write: %s", w->tmp, strerror(errno));
        nvp_pack_writer_abort(w);
        return st;
    }
    *writer = w;
    return NVP_OK;
}

nvp_status nvp_pack_writer_add(nvp_pack_writer *w, const uint8_t *pixels, int32_t height, int32_t width) {
    NVP_CHECK_PTR("nvp_pack_writer_add", w);
    NVP_CHECK_PTR("nvp_pack_writer_add", pixels);
    if (height < 1 || width < 1 || (uint32_t)height > PACK_MAX_SIDE || (uint32_t)width > PACK_MAX_SIDE)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "%s: cannot pack a %d x %d image", w->path, (int)height, (int)width);
    if (w->count == w->capacity) {
        int64_t cap = w->capacity ? 2 * w->capacity : 1024;
        nvp_pack_record *r = realloc(w->records, (size_t)cap * sizeof *r);
        if (r == NULL) return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: out of memory for %lld records", w->path, (long long)cap);
        w->records = r;
        w->capacity = cap;
    }
    size_t bytes = (size_t)w->channels * (size_t)height * (size_t)width;
    if (fwrite(pixels, 1, bytes, w->f) != bytes)
        return nvp_fail(NVP_STATUS_IO, "%s: cannot write: %s", w->tmp, strerror(errno));
    w->records[w->count] = (nvp_pack_record){w->payload_bytes, (uint32_t)height, (uint32_t)width};
    w->payload_bytes += bytes;
    if (w->count == 0) {
        w->height = height, w->width = width;
    } else if (w->height != height || w->width != width) {
        w->height = w->width = -1;
    }
    w->count++;
    return NVP_OK;
}

void nvp_pack_writer_abort(nvp_pack_writer *w) {
    if (w == NULL) return;
    if (w->f != NULL) fclose(w->f);
    w->f = NULL;
    remove(w->tmp);
    writer_free(w);
}

nvp_status nvp_pack_writer_finish(nvp_pack_writer *w) {
    NVP_CHECK_PTR("nvp_pack_writer_finish", w);
    nvp_status st = NVP_OK;
    uint64_t records_offset = PACK_HEADER_BYTES + w->payload_bytes;
    uint64_t pad = (8 - records_offset % 8) % 8;
    records_offset += pad;
    static const unsigned char zeros[8];
    unsigned char rec[16];
    if (w->count == 0) {
        st = nvp_fail(NVP_STATUS_BAD_ARG, "%s: no images to pack", w->path);
        goto fail;
    }
    if (fwrite(zeros, 1, pad, w->f) != pad) goto io_error;
    for (int64_t i = 0; i < w->count; i++) {
        put_u64(rec, w->records[i].offset);
        put_u32(rec + 8, w->records[i].height);
        put_u32(rec + 12, w->records[i].width);
        if (fwrite(rec, 1, 16, w->f) != 16) goto io_error;
    }
    unsigned char header[64] = {0};
    memcpy(header, PACK_MAGIC, 8);
    put_u32(header + 8, PACK_VERSION);
    put_u32(header + 12, (uint32_t)w->channels);
    put_u64(header + 16, (uint64_t)w->count);
    put_u64(header + 24, PACK_HEADER_BYTES);
    put_u64(header + 32, w->payload_bytes);
    put_u64(header + 40, records_offset);
    put_u32(header + 48, w->height > 0 ? (uint32_t)w->height : 0);
    put_u32(header + 52, w->width > 0 ? (uint32_t)w->width : 0);
    put_u64(header + 56, w->fingerprint);
    if (fseek(w->f, 0, SEEK_SET) != 0 || fwrite(header, 1, sizeof header, w->f) != sizeof header) goto io_error;
    if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0) goto io_error;
    if (fclose(w->f) != 0) {
        w->f = NULL;
        goto io_error;
    }
    w->f = NULL;
    if (rename(w->tmp, w->path) != 0) {
        st = nvp_fail(NVP_STATUS_IO, "%s: cannot rename %s over it: %s", w->path, w->tmp, strerror(errno));
        goto fail;
    }
    writer_free(w);
    return NVP_OK;
io_error:
    st = nvp_fail(NVP_STATUS_IO, "%s: cannot write: %s", w->tmp, strerror(errno));
fail:
    nvp_pack_writer_abort(w);
    return st;
}

void nvp_pack_close(nvp_pack *pack) {
    if (pack == NULL) return;
    if (pack->map != NULL) munmap(pack->map, (size_t)pack->map_bytes);
    memset(pack, 0, sizeof *pack);
}

nvp_status nvp_pack_open(nvp_pack *pack, const char *path) {
    NVP_CHECK_PTR("nvp_pack_open", pack);
    NVP_CHECK_PTR("nvp_pack_open", path);
    memset(pack, 0, sizeof *pack);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nvp_fail(NVP_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return nvp_fail(NVP_STATUS_IO, "%s: not a regular file", path);
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (size < PACK_HEADER_BYTES) {
        close(fd);
        return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: %llu bytes, shorter than a pack header (%u); truncated or not a pack",
                        path, (unsigned long long)size, PACK_HEADER_BYTES);
    }
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return nvp_fail(NVP_STATUS_IO, "%s: cannot map: %s", path, strerror(errno));
    const unsigned char *h = map;
    uint32_t version = get_u32(h + 8), channels = get_u32(h + 12);
    uint64_t count = get_u64(h + 16), payload_offset = get_u64(h + 24), payload_bytes = get_u64(h + 32);
    uint64_t records_offset = get_u64(h + 40);
    uint32_t height = get_u32(h + 48), width = get_u32(h + 52);
    nvp_status st = NVP_OK;
    if (memcmp(h, PACK_MAGIC, 8) != 0)
        st = nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: not an nvp pack (no NVPPACK1 magic)", path);
    else if (version != PACK_VERSION)
        st = nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: pack version %u (this nvp reads %u); run nvp prepare again", path,
                      version, PACK_VERSION);
    else if (channels != 1 && channels != 3)
        st = nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: %u channels (expected 1 or 3)", path, channels);
    else if (count == 0 || count > size / 16)
        st = nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: %llu images in a file of %llu bytes", path, (unsigned long long)count,
                      (unsigned long long)size);
    else if (payload_offset != PACK_HEADER_BYTES || payload_bytes > size - payload_offset ||
             records_offset < payload_offset + payload_bytes || records_offset % 8 != 0 || records_offset > size ||
             (size - records_offset) / 16 != count || (size - records_offset) % 16 != 0)
        st = nvp_fail(NVP_STATUS_BAD_FORMAT,
                      "%s: payload [%llu, +%llu) and %llu records at %llu do not fit a file of %llu bytes; truncated or "
                      "corrupt",
                      path, (unsigned long long)payload_offset, (unsigned long long)payload_bytes,
                      (unsigned long long)count, (unsigned long long)records_offset, (unsigned long long)size);
    else if (height > PACK_MAX_SIDE || width > PACK_MAX_SIDE || (height == 0) != (width == 0))
        st = nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: header size %u x %u", path, height, width);
    /* only once the offset is known to lie in the file: h + an absurd offset is itself undefined */
    const nvp_pack_record *records = st == NVP_OK ? (const nvp_pack_record *)(h + records_offset) : NULL;
    uint64_t next = 0;
    for (uint64_t i = 0; st == NVP_OK && i < count; i++) {
        const unsigned char *r = h + records_offset + 16 * i;
        uint64_t off = get_u64(r);
        uint32_t rh = get_u32(r + 8), rw = get_u32(r + 12);
        if (rh < 1 || rw < 1 || rh > PACK_MAX_SIDE || rw > PACK_MAX_SIDE || (height && (rh != height || rw != width)))
            st = nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: image %llu is %u x %u%s", path, (unsigned long long)i, rh, rw,
                          height ? " (the header says every image is that size, not this)" : "");
        else if (off < next || off > payload_bytes || (uint64_t)channels * rh * rw > payload_bytes - off)
            st = nvp_fail(NVP_STATUS_BAD_FORMAT,
                          "%s: image %llu at payload offset %llu (%u x %u x %u bytes) overlaps the previous one or "
                          "runs past the payload (%llu bytes)",
                          path, (unsigned long long)i, (unsigned long long)off, channels, rh, rw,
                          (unsigned long long)payload_bytes);
        else
            next = off + (uint64_t)channels * rh * rw;
    }
    if (st != NVP_OK) {
        munmap(map, (size_t)size);
        return st;
    }
    madvise(map, (size_t)size, MADV_RANDOM);
    pack->payload = h + payload_offset;
    pack->records = records;
    pack->count = (int64_t)count;
    pack->channels = (int32_t)channels;
    pack->height = (int32_t)height;
    pack->width = (int32_t)width;
    pack->fingerprint = get_u64(h + 56);
    pack->map = map;
    pack->map_bytes = (int64_t)size;
    return NVP_OK;
}

nvp_status nvp_pack_gather(uint8_t *out, const nvp_pack *pack, const int64_t *index, const int32_t *y0,
                           const int32_t *x0, const uint8_t *flip, int64_t n, int32_t out_h, int32_t out_w) {
    NVP_CHECK_PTR("nvp_pack_gather", out);
    NVP_CHECK_PTR("nvp_pack_gather", pack);
    NVP_CHECK_PTR("nvp_pack_gather", pack->payload);
    NVP_CHECK_PTR("nvp_pack_gather", index);
    NVP_CHECK_SIZE("nvp_pack_gather", n);
    if (pack->records == NULL && (pack->height < 1 || pack->width < 1))
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_pack_gather: a pack view without records needs a fixed size");
    int32_t c = pack->channels;
    size_t out_bytes = (size_t)c * (size_t)out_h * (size_t)out_w;
    for (int64_t k = 0; k < n; k++) {
        int64_t i = index[k];
        if (i < 0 || i >= pack->count)
            return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_pack_gather: index[%lld] = %lld, outside 0..%lld", (long long)k,
                            (long long)i, (long long)pack->count - 1);
        int32_t h, w;
        const uint8_t *src;
        if (pack->records != NULL) {
            h = (int32_t)pack->records[i].height, w = (int32_t)pack->records[i].width;
            src = pack->payload + pack->records[i].offset;
        } else {
            h = pack->height, w = pack->width;
            src = pack->payload + (size_t)i * (size_t)c * (size_t)h * (size_t)w;
        }
        nvp_status st = nvp_crop_u8(out + (size_t)k * out_bytes, src, c, h, w, y0 ? y0[k] : 0, x0 ? x0[k] : 0, out_h,
                                    out_w, flip ? flip[k] : 0);
        if (st != NVP_OK) return nvp_fail(st, "nvp_pack_gather: image %lld: %s", (long long)i, nvp_last_error());
    }
    return NVP_OK;
}
