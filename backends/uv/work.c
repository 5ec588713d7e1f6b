/* Blocking work on libuv's thread pool (uv_queue_work). The request lives in
 * the future; a future dropped while its job is queued or running is
 * orphaned and freed by the after-work callback. */
#include <stdalign.h>

#include "leaf.h"
#include "uv_backend.h"

typedef struct uvb_work {
  zyntax_future base; /* first */
  uvb_runtime *rt;
  zyntax_blocking_fn fn;
  void *arg;
  zyntax_waker waker;
  uv_work_t req;
  int queued, done, orphaned, status;
  uint8_t cls; /* its arena class (leaf.h) */
} uvb_work;

static void run_job(uv_work_t *req) {
  uvb_work *w = req->data;
  w->fn(w->arg);
}

static void after_job(uv_work_t *req, int status) {
  uvb_work *w = req->data;
  if (w->orphaned) {
    zx_leaf_free(&w->rt->ex, w, w->cls);
    return;
  }
  w->done = 1;
  w->status = status;
  zyntax_waker_wake(&w->waker);
}

static zyntax_poll work_poll(zyntax_future *base, const zyntax_waker *waker) {
  uvb_work *w = (uvb_work *)base;
  if (zx_leaf_refuse(base, &w->rt->ex)) return ZYNTAX_READY;
  if (w->done) {
    base->result = w->status == UV_ECANCELED ? ZYNTAX_ECANCELED : 0;
    return ZYNTAX_READY;
  }
  zyntax_waker_store(&w->waker, waker);
  if (!w->queued) {
    if (uv_queue_work(&w->rt->loop, &w->req, run_job, after_job) != 0) {
      base->result = ZYNTAX_EBACKEND;
      return ZYNTAX_READY;
    }
    w->queued = 1;
    zx_count(&w->rt->ex.stats.blocking_jobs);
  }
  return ZYNTAX_PENDING;
}

/* After destroy every job has ended (destroy waits for them): done. */
static void work_drop(zyntax_future *base) {
  uvb_work *w = (uvb_work *)base;
  zyntax_waker_drop(&w->waker);
  if (w->queued && !w->done) {
    w->orphaned = 1;
    uv_cancel((uv_req_t *)&w->req); /* skips the job unless it started */
  } else {
    zx_leaf_free(&w->rt->ex, w, w->cls); /* maybe the last block */
  }
}

const zyntax_future_ops uvb_work_ops = ZYNTAX_FUTURE_OPS_INIT(work_poll, work_drop);

int uvb_blocking(zyntax_backend_runtime *rt, zyntax_blocking_fn fn, void *arg,
                 zyntax_future **out) {
  uint8_t cls;
  uvb_work *w = zx_leaf_alloc(&uvb_from(rt)->ex, sizeof *w, alignof(uvb_work), &cls);
  if (w == NULL) return ZYNTAX_ENOMEM;
  w->cls = cls;
  w->base = (zyntax_future){&uvb_work_ops, ZYNTAX_NOT_FINISHED};
  w->rt = uvb_from(rt);
  w->fn = fn;
  w->arg = arg;
  w->req.data = w;
  *out = &w->base;
  return 0;
}
