/* Blocking a plain thread on the waker protocol: the thread polls with a
 * waker whose wake sets a flag and signals a condition variable. The parker
 * is per thread and reference-counted, because a waker clone stored in a
 * channel may be woken after the blocking call returned, or after the
 * thread exited. */
#include <stdatomic.h>
#include <stdlib.h>

#include "shared.h"
#include "waitq.h"

typedef struct parker {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int notified;
  atomic_size_t refs;
} parker;

static void parker_unref(parker *p) {
  if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1) return;
  pthread_cond_destroy(&p->cond);
  pthread_mutex_destroy(&p->lock);
  free(p);
}

static zyntax_waker parker_clone(const void *data);

/* The parker's mutex goes with a condition variable: a pthread one. */
static void parker_lock(parker *p) {
  if (pthread_mutex_lock(&p->lock) != 0) abort(); /* only on a corrupted mutex */
}

static void parker_unlock(parker *p) {
  if (pthread_mutex_unlock(&p->lock) != 0) abort();
}

static void parker_wake_by_ref(const void *data) {
  parker *p = (parker *)data;
  parker_lock(p);
  p->notified = 1;
  pthread_cond_signal(&p->cond);
  parker_unlock(p);
}

static void parker_drop(const void *data) { parker_unref((parker *)data); }

static void parker_wake(const void *data) {
  parker_wake_by_ref(data);
  parker_drop(data);
}

static const zyntax_waker_vtable parker_vtable = {parker_clone, parker_wake,
                                                  parker_wake_by_ref, parker_drop};

static zyntax_waker parker_clone(const void *data) {
  atomic_fetch_add_explicit(&((parker *)data)->refs, 1, memory_order_relaxed);
  return (zyntax_waker){data, &parker_vtable};
}

static pthread_key_t parker_key;
static pthread_once_t parker_once = PTHREAD_ONCE_INIT;
static _Thread_local parker *this_thread;

static void parker_thread_exit(void *p) { parker_unref(p); }
static void parker_key_init(void) { pthread_key_create(&parker_key, parker_thread_exit); }

static parker *thread_parker(void) {
  if (this_thread != NULL) return this_thread;
  pthread_once(&parker_once, parker_key_init);
  parker *p = malloc(sizeof *p);
  if (p == NULL) return NULL;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->cond, NULL);
  p->notified = 0;
  atomic_init(&p->refs, 1); /* the thread's own, dropped at its exit */
  if (pthread_setspecific(parker_key, p) != 0) {
    parker_unref(p);
    return NULL;
  }
  this_thread = p;
  return p;
}

int zx_park_until_ready(zyntax_poll (*poll)(void *ctx, const zyntax_waker *w),
                        void *ctx, const char *func) {
  if (zyntax_runtime_current() != NULL)
    return zx_fail(NULL, ZYNTAX_EREENTRANT,
                   "%s: would block a thread that runs poll functions", func);
  parker *p = thread_parker();
  if (p == NULL) return zx_fail_code(func, ZYNTAX_ENOMEM);
  zyntax_waker w = {p, &parker_vtable};
  while (poll(ctx, &w) == ZYNTAX_PENDING) {
    parker_lock(p);
    while (!p->notified) pthread_cond_wait(&p->cond, &p->lock);
    p->notified = 0;
    parker_unlock(p);
  }
  return 0;
}
