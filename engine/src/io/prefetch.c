/*
 * prefetch.c -- one background pthread that gathers the next training batch (nvp_pack_gather: copy out
 * of the memory-mapped pack, crop, flip) while the current step runs, so that a cold page of the cache
 * is read from disk off the step's critical path. The caller decides every index, crop and flip (the
 * order is Lua's, seeded and resumable); the thread only executes them. Two output buffers alternate:
 * job k writes buffer k % 2, so the batch returned by wait() stays intact while the next one is
 * gathered. One job is in flight at a time; submit while one is pending is a caller's error.
 */
#include "internal.h"

#include <pthread.h>
#include <string.h>

struct nvp_prefetch {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    nvp_pack pack;            /* a copy of the caller's struct (the map stays the caller's) */
    int64_t max_batch;
    int32_t out_h, out_w;
    uint8_t *buffer[2];
    int64_t *index;
    int32_t *y0, *x0;
    uint8_t *flip;
    int64_t n;
    int which;                /* the buffer of the pending or last job */
    int pending, done, stop;  /* a job was submitted / has finished / the thread must exit */
    nvp_status status;
    char message[1024];
};

static void *prefetch_main(void *arg) {
    nvp_prefetch *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && !(p->pending && !p->done)) pthread_cond_wait(&p->changed, &p->lock);
        if (p->stop) break;
        pthread_mutex_unlock(&p->lock);
        nvp_status st = nvp_pack_gather(p->buffer[p->which], &p->pack, p->index, p->y0, p->x0, p->flip, p->n, p->out_h,
                                        p->out_w);
        pthread_mutex_lock(&p->lock);
        p->status = st;
        if (st != NVP_OK) snprintf(p->message, sizeof p->message, "%s", nvp_last_error());
        p->done = 1;
        pthread_cond_broadcast(&p->changed);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void prefetch_release(nvp_prefetch *p) {
    nvp_free(p->buffer[0]);
    nvp_free(p->buffer[1]);
    free(p->index);
    free(p->y0);
    free(p->x0);
    free(p->flip);
    free(p);
}

nvp_status nvp_prefetch_create(nvp_prefetch **prefetch, const nvp_pack *pack, int64_t max_batch, int32_t out_h,
                               int32_t out_w) {
    NVP_CHECK_PTR("nvp_prefetch_create", prefetch);
    NVP_CHECK_PTR("nvp_prefetch_create", pack);
    *prefetch = NULL;
    if (max_batch < 1 || out_h < 1 || out_w < 1 || pack->channels < 1)
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_prefetch_create: batch %lld of %d x %d x %d images",
                        (long long)max_batch, (int)pack->channels, (int)out_h, (int)out_w);
    nvp_prefetch *p = calloc(1, sizeof *p);
    if (p == NULL) return nvp_fail(NVP_STATUS_NO_MEMORY, "nvp_prefetch_create: out of memory");
    size_t bytes = (size_t)max_batch * (size_t)pack->channels * (size_t)out_h * (size_t)out_w;
    p->buffer[0] = nvp_alloc(bytes);
    p->buffer[1] = nvp_alloc(bytes);
    p->index = malloc((size_t)max_batch * sizeof *p->index);
    p->y0 = malloc((size_t)max_batch * sizeof *p->y0);
    p->x0 = malloc((size_t)max_batch * sizeof *p->x0);
    p->flip = malloc((size_t)max_batch);
    if (!p->buffer[0] || !p->buffer[1] || !p->index || !p->y0 || !p->x0 || !p->flip) {
        prefetch_release(p);
        return nvp_fail(NVP_STATUS_NO_MEMORY, "nvp_prefetch_create: out of memory for 2 batches of %zu bytes", bytes);
    }
    p->pack = *pack;
    p->max_batch = max_batch;
    p->out_h = out_h, p->out_w = out_w;
    p->which = 1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->changed, NULL);
    if (pthread_create(&p->thread, NULL, prefetch_main, p) != 0) {
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->changed);
        prefetch_release(p);
        return nvp_fail(NVP_STATUS_NO_MEMORY, "nvp_prefetch_create: cannot start the thread");
    }
    *prefetch = p;
    return NVP_OK;
}

nvp_status nvp_prefetch_submit(nvp_prefetch *p, const int64_t *index, const int32_t *y0, const int32_t *x0,
                               const uint8_t *flip, int64_t n) {
    NVP_CHECK_PTR("nvp_prefetch_submit", p);
    NVP_CHECK_PTR("nvp_prefetch_submit", index);
    if (n < 1 || n > p->max_batch)
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_prefetch_submit: %lld images (1..%lld)", (long long)n,
                        (long long)p->max_batch);
    pthread_mutex_lock(&p->lock);
    if (p->pending) {
        pthread_mutex_unlock(&p->lock);
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_prefetch_submit: a batch is already pending (wait for it first)");
    }
    memcpy(p->index, index, (size_t)n * sizeof *index);
    for (int64_t k = 0; k < n; k++) {
        p->y0[k] = y0 ? y0[k] : 0;
        p->x0[k] = x0 ? x0[k] : 0;
        p->flip[k] = flip ? flip[k] : 0;
    }
    p->n = n;
    p->which ^= 1;
    p->pending = 1;
    p->done = 0;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    return NVP_OK;
}

nvp_status nvp_prefetch_wait(nvp_prefetch *p, uint8_t **batch) {
    NVP_CHECK_PTR("nvp_prefetch_wait", p);
    NVP_CHECK_PTR("nvp_prefetch_wait", batch);
    *batch = NULL;
    pthread_mutex_lock(&p->lock);
    if (!p->pending) {
        pthread_mutex_unlock(&p->lock);
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_prefetch_wait: no batch was submitted");
    }
    while (!p->done) pthread_cond_wait(&p->changed, &p->lock);
    p->pending = 0;
    nvp_status st = p->status;
    if (st == NVP_OK)
        *batch = p->buffer[p->which];
    else
        nvp_fail(st, "%s", p->message);
    pthread_mutex_unlock(&p->lock);
    return st;
}

void nvp_prefetch_free(nvp_prefetch *p) {
    if (p == NULL) return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->changed);
    prefetch_release(p);
}
