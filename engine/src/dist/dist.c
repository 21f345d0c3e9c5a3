/*
 * dist.c -- many processes: the engine's only contact with MPI (Open MPI from Debian), for
 * data-parallel training (lua/nvp/dist.lua is the one Lua path over it).
 *
 * Built with MPI when CMake found it (option NVP_MPI, which defines NVP_HAVE_MPI); without it, or
 * in a process not started by an MPI launcher (mpirun sets OMPI_COMM_WORLD_SIZE, Hydra PMI_SIZE),
 * every call is the one-rank case: rank 0 of 1, a reduction leaves its buffer as it is. So a single
 * process never pays MPI's start-up and never depends on a launcher's daemon.
 *
 * Collectives run on MPI_COMM_WORLD with MPI_ERRORS_RETURN, so a failed call becomes an nvp_status
 * with MPI's message. A rank that dies is handled by the launcher: mpirun ends the others.
 */
#include "internal.h"

#include <limits.h>
#include <stdlib.h>

#ifdef NVP_HAVE_MPI
#include <mpi.h>
#endif

static int dist_rank = 0, dist_size = 1;
static int dist_local_size = 1;      /* ranks on this machine (they share its cores) */
#ifdef NVP_HAVE_MPI
static int dist_active = 0; /* 1 after MPI_Init (a launched job), until finalize */
#endif
static int64_t dist_bytes_reduced = 0; /* bytes passed to allreduce by this rank, for measurements */

/* A reduction moves at most INT_MAX elements per MPI call (MPI counts are int). */
#define CHUNK ((int64_t)1 << 30)

int nvp_dist_compiled(void) {
#ifdef NVP_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

/* The job size an MPI launcher announced to this process (0 if none started it), so MPI_Init is
 * called only where it will find its peers. */
static int launcher_size(void) {
    const char *s = getenv("OMPI_COMM_WORLD_SIZE");
    if (s == NULL) s = getenv("PMI_SIZE");
    return s != NULL ? atoi(s) : 0;
}

#ifdef NVP_HAVE_MPI
static nvp_status mpi_fail(const char *fn, int code) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "MPI error %d", code);
    return nvp_fail(NVP_STATUS_IO, "%s: rank %d of %d: %s", fn, dist_rank, dist_size, text);
}
#endif

nvp_status nvp_dist_init(void) {
#ifdef NVP_HAVE_MPI
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized || launcher_size() == 0) return NVP_OK;
    int provided = 0;
    /* FUNNELED: OpenMP threads compute, only the main thread talks to MPI. */
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return nvp_fail(NVP_STATUS_IO, "nvp_dist_init: MPI_Init_thread failed (%d)", rc);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &dist_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &dist_size);
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &dist_local_size);
        MPI_Comm_free(&node);
    }
    dist_active = 1;
#else
    if (launcher_size() > 1)
        return nvp_fail(NVP_STATUS_UNSUPPORTED,
                        "nvp_dist_init: started by mpirun as one of %d ranks, but this nvp was built without MPI "
                        "(install libopenmpi-dev and rebuild with -DNVP_MPI=ON)",
                        launcher_size());
#endif
    return NVP_OK;
}

int nvp_dist_rank(void) { return dist_rank; }
int nvp_dist_size(void) { return dist_size; }
int nvp_dist_local_size(void) { return dist_local_size; }
int64_t nvp_dist_bytes_reduced(void) { return dist_bytes_reduced; }

nvp_status nvp_dist_allreduce_sum_f32(float *buf, int64_t n) {
    NVP_CHECK_SIZE("nvp_dist_allreduce_sum_f32", n);
    if (n > 0) NVP_CHECK_PTR("nvp_dist_allreduce_sum_f32", buf);
    dist_bytes_reduced += n * (int64_t)sizeof(float);
#ifdef NVP_HAVE_MPI
    if (!dist_active || dist_size == 1) return NVP_OK;
    for (int64_t first = 0; first < n; first += CHUNK) {
        int count = (int)(n - first < CHUNK ? n - first : CHUNK);
        int rc = MPI_Allreduce(MPI_IN_PLACE, buf + first, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail("nvp_dist_allreduce_sum_f32", rc);
    }
#endif
    return NVP_OK;
}

nvp_status nvp_dist_allreduce_sum_f64(double *buf, int64_t n) {
    NVP_CHECK_SIZE("nvp_dist_allreduce_sum_f64", n);
    if (n > 0) NVP_CHECK_PTR("nvp_dist_allreduce_sum_f64", buf);
    dist_bytes_reduced += n * (int64_t)sizeof(double);
#ifdef NVP_HAVE_MPI
    if (!dist_active || dist_size == 1) return NVP_OK;
    for (int64_t first = 0; first < n; first += CHUNK) {
        int count = (int)(n - first < CHUNK ? n - first : CHUNK);
        int rc = MPI_Allreduce(MPI_IN_PLACE, buf + first, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail("nvp_dist_allreduce_sum_f64", rc);
    }
#endif
    return NVP_OK;
}

/* Non-blocking reductions: requests live in a small table; a slot is free again after its wait. */
#define MAX_REQUESTS 4096
#ifdef NVP_HAVE_MPI
static MPI_Request requests[MAX_REQUESTS];
#endif
static int request_used[MAX_REQUESTS];

nvp_status nvp_dist_iallreduce_sum_f32(float *buf, int64_t n, int32_t *request) {
    const char *fn = "nvp_dist_iallreduce_sum_f32";
    NVP_CHECK_PTR(fn, request);
    NVP_CHECK_SIZE(fn, n);
    if (n > 0) NVP_CHECK_PTR(fn, buf);
    if (n > INT_MAX)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: n = %lld is more than one MPI call takes", fn, (long long)n);
    int slot = 0;
    while (slot < MAX_REQUESTS && request_used[slot]) slot++;
    if (slot == MAX_REQUESTS)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: %d reductions are already in flight", fn, MAX_REQUESTS);
    dist_bytes_reduced += n * (int64_t)sizeof(float);
#ifdef NVP_HAVE_MPI
    requests[slot] = MPI_REQUEST_NULL;
    if (dist_active && dist_size > 1) {
        int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &requests[slot]);
        if (rc != MPI_SUCCESS) return mpi_fail(fn, rc);
    }
#endif
    request_used[slot] = 1;
    *request = slot;
    return NVP_OK;
}

nvp_status nvp_dist_progress(void) {
#ifdef NVP_HAVE_MPI
    if (!dist_active || dist_size == 1) return NVP_OK;
    for (int i = 0; i < MAX_REQUESTS; i++) {
        if (!request_used[i] || requests[i] == MPI_REQUEST_NULL) continue;
        int done = 0;
        int rc = MPI_Test(&requests[i], &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return mpi_fail("nvp_dist_progress", rc);
    }
#endif
    return NVP_OK;
}

nvp_status nvp_dist_wait(int32_t request) {
    if (request < 0 || request >= MAX_REQUESTS || !request_used[request])
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_dist_wait: %d is not a reduction in flight", (int)request);
    request_used[request] = 0;
#ifdef NVP_HAVE_MPI
    if (requests[request] != MPI_REQUEST_NULL) {
        int rc = MPI_Wait(&requests[request], MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return mpi_fail("nvp_dist_wait", rc);
    }
#endif
    return NVP_OK;
}

nvp_status nvp_dist_broadcast(void *buf, int64_t nbytes, int root) {
    NVP_CHECK_SIZE("nvp_dist_broadcast", nbytes);
    if (nbytes > 0) NVP_CHECK_PTR("nvp_dist_broadcast", buf);
    if (root < 0 || root >= dist_size)
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_dist_broadcast: root %d is not a rank of %d", root, dist_size);
#ifdef NVP_HAVE_MPI
    if (!dist_active || dist_size == 1) return NVP_OK;
    for (int64_t first = 0; first < nbytes; first += CHUNK) {
        int count = (int)(nbytes - first < CHUNK ? nbytes - first : CHUNK);
        int rc = MPI_Bcast((char *)buf + first, count, MPI_BYTE, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail("nvp_dist_broadcast", rc);
    }
#endif
    return NVP_OK;
}

nvp_status nvp_dist_barrier(void) {
#ifdef NVP_HAVE_MPI
    if (!dist_active || dist_size == 1) return NVP_OK;
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail("nvp_dist_barrier", rc);
#endif
    return NVP_OK;
}

void nvp_dist_abort(int code) {
#ifdef NVP_HAVE_MPI
    if (!dist_active) return;
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code != 0 ? code : 1);
#else
    (void)code;
#endif
}

nvp_status nvp_dist_finalize(void) {
#ifdef NVP_HAVE_MPI
    if (!dist_active) return NVP_OK;
    dist_active = 0;
    int rc = MPI_Finalize();
    if (rc != MPI_SUCCESS) return nvp_fail(NVP_STATUS_IO, "nvp_dist_finalize: MPI_Finalize failed (%d)", rc);
#endif
    return NVP_OK;
}
