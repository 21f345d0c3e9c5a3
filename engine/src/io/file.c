/*
 * file.c -- whole-file atomic writes and bounded reads, for checkpoints and other files that must
 * never be seen half written.
 *
 * nvp_file_write_atomic writes `<path>.tmp.<pid>.<seq>` (seq: a per-process counter, so two threads
 * saving to the same path do not share a temporary), fsyncs it, renames it over `path` and fsyncs the
 * directory, so after a crash `path` holds either the old contents or the new ones. On any failure
 * (unwritable directory, a short write on a full disk, a file size limit) the temporary file is
 * removed and `path` is left as it was. The readers refuse a range that goes past the end of the file
 * instead of returning fewer bytes.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_uint file_tmp_seq;

/* Write all of buf (n bytes) to fd, retrying partial writes and EINTR. A write that makes no progress
 * (a full disk that reports 0 instead of ENOSPC) fails with ENOSPC. Returns 0 or an errno value. */
static int file_write_all(int fd, const unsigned char *buf, int64_t n) {
    while (n > 0) {
        size_t chunk = n > (1 << 30) ? (size_t)1 << 30 : (size_t)n;
        ssize_t got = write(fd, buf, chunk);
        if (got < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (got == 0) return ENOSPC;
        buf += got;
        n -= got;
    }
    return 0;
}

/* fsync the directory holding path, so the rename itself is durable. Returns 0 or an errno value;
 * file systems that cannot sync a directory (EINVAL) count as success. */
static int file_sync_dir(const char *path) {
    size_t len = strlen(path);
    char *dir = malloc(len + 2);
    if (dir == NULL) return ENOMEM;
    memcpy(dir, path, len + 1);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return errno;
    int err = fsync(fd) != 0 && errno != EINVAL ? errno : 0;
    close(fd);
    return err;
}

nvp_status nvp_file_write_atomic(const char *path, const void *const *chunks, const int64_t *sizes,
                                 int32_t nchunks) {
    NVP_CHECK_PTR("nvp_file_write_atomic", path);
    NVP_CHECK_SIZE("nvp_file_write_atomic", nchunks);
    if (nchunks > 0) {
        NVP_CHECK_PTR("nvp_file_write_atomic", chunks);
        NVP_CHECK_PTR("nvp_file_write_atomic", sizes);
    }
    for (int32_t i = 0; i < nchunks; i++) {
        if (sizes[i] < 0)
            return nvp_fail(NVP_STATUS_BAD_ARG, "%s: chunk %d has a negative size %lld", path, (int)i,
                            (long long)sizes[i]);
        if (sizes[i] > 0 && chunks[i] == NULL)
            return nvp_fail(NVP_STATUS_BAD_ARG, "%s: chunk %d (%lld bytes) is NULL", path, (int)i,
                            (long long)sizes[i]);
    }
    size_t len = strlen(path);
    if (len == 0) return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_file_write_atomic: empty path");
    char *tmp = malloc(len + 48);
    if (tmp == NULL) return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: out of memory", path);
    snprintf(tmp, len + 48, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&file_tmp_seq, 1u));

    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return nvp_fail(NVP_STATUS_IO, "%s: cannot write: %s", path, strerror(e));
    }
    int err = 0;
    const char *step = "cannot write";
    for (int32_t i = 0; i < nchunks && err == 0; i++) err = file_write_all(fd, chunks[i], sizes[i]);
    if (err == 0 && fsync(fd) != 0) {
        err = errno;
        step = "cannot sync";
    }
    if (close(fd) != 0 && err == 0) {
        err = errno;
        step = "cannot write";
    }
    if (err == 0 && rename(tmp, path) != 0) {
        err = errno;
        step = "cannot replace";
    }
    if (err != 0) {
        unlink(tmp);
        free(tmp);
        return nvp_fail(NVP_STATUS_IO, "%s: %s: %s", path, step, strerror(err));
    }
    free(tmp);
    err = file_sync_dir(path);
    if (err != 0)
        return nvp_fail(NVP_STATUS_IO, "%s: written, but cannot sync its directory: %s", path, strerror(err));
    return NVP_OK;
}

nvp_status nvp_file_size(int64_t *size, const char *path) {
    NVP_CHECK_PTR("nvp_file_size", size);
    NVP_CHECK_PTR("nvp_file_size", path);
    *size = -1;
    struct stat st;
    if (stat(path, &st) != 0) return nvp_fail(NVP_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return nvp_fail(NVP_STATUS_IO, "%s: not a regular file", path);
    *size = (int64_t)st.st_size;
    return NVP_OK;
}

nvp_status nvp_file_read_at(void *dst, const char *path, int64_t offset, int64_t nbytes) {
    NVP_CHECK_PTR("nvp_file_read_at", path);
    NVP_CHECK_SIZE("nvp_file_read_at", offset);
    NVP_CHECK_SIZE("nvp_file_read_at", nbytes);
    if (nbytes > 0) NVP_CHECK_PTR("nvp_file_read_at", dst);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nvp_fail(NVP_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return nvp_fail(NVP_STATUS_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return nvp_fail(NVP_STATUS_IO, "%s: not a regular file", path);
    }
    int64_t size = (int64_t)st.st_size;
    if (offset > size || nbytes > size - offset) {
        close(fd);
        return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: cannot read bytes [%lld, %llu): the file has %lld bytes",
                        path, (long long)offset, (unsigned long long)offset + (unsigned long long)nbytes,
                        (long long)size);
    }
    unsigned char *p = dst;
    int64_t done = 0;
    while (done < nbytes) {
        size_t chunk = nbytes - done > (1 << 30) ? (size_t)1 << 30 : (size_t)(nbytes - done);
        ssize_t got = pread(fd, p + done, chunk, (off_t)(offset + done));
        if (got < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            return nvp_fail(NVP_STATUS_IO, "%s: cannot read at byte %lld: %s", path, (long long)(offset + done),
                            strerror(e));
        }
        if (got == 0) {
            close(fd);
            return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: truncated while reading: expected %lld bytes, got %lld",
                            path, (long long)(offset + nbytes), (long long)(offset + done));
        }
        done += got;
    }
    close(fd);
    return NVP_OK;
}
