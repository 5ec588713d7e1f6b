/* The semaphore: one mutex and a waitq (permits handed to the oldest
 * waiter). Reference-counted by its creator and its acquire operations. */
#include <stdlib.h>

#include "shared.h"
#include "waitq.h"

struct zyntax_semaphore {
  zx_mutex lock;
  zx_waitq q;
  size_t refs; /* under lock */
};

struct zyntax_acquire {
  zyntax_semaphore *sem;
  zx_waiter wait;
};

int zyntax_semaphore_create(size_t permits, zyntax_semaphore **out) {
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  zyntax_semaphore *s = *out = malloc(sizeof *s);
  if (s == NULL) return zx_fail_code(__func__, ZYNTAX_ENOMEM);
  zx_mutex_init(&s->lock);
  zx_waitq_init(&s->q, permits, SIZE_MAX);
  s->refs = 1;
  return 0;
}

static void sem_unref(zyntax_semaphore *s) {
  zx_lock(&s->lock);
  int last = --s->refs == 0;
  zx_unlock(&s->lock);
  if (!last) return;
  free(s);
}

int zyntax_semaphore_try_acquire(zyntax_semaphore *sem) {
  if (sem == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  zx_lock(&sem->lock);
  int got = zx_waitq_acquire(&sem->q, NULL, NULL);
  zx_unlock(&sem->lock);
  return got == 1 ? 0 : got == 0 ? ZYNTAX_EAGAIN : ZYNTAX_ECLOSED;
}

/* Permits past SIZE_MAX cannot be counted: such an addition is refused
 * whole (a caller giving back more than it acquired has a bug to hear
 * about), rather than silently capped. */
void zyntax_semaphore_add_permits(zyntax_semaphore *sem, size_t n) {
  if (sem == NULL) {
    zx_fail_code(__func__, ZYNTAX_EINVAL);
    return;
  }
  zx_wakes wakes = ZX_WAKES_INIT;
  zx_lock(&sem->lock);
  /* Permits sit in the count only while nobody waits. */
  int overflow = sem->q.head == NULL && n > sem->q.max_permits - sem->q.permits;
  if (!overflow) zx_waitq_release(&sem->q, n, &wakes);
  size_t had = sem->q.permits;
  zx_unlock(&sem->lock);
  zx_wakes_run(&wakes);
  if (overflow)
    zx_fail(NULL, ZYNTAX_EINVAL,
            "zyntax_semaphore_add_permits: %zu more permits overflow the %zu "
            "free ones; nothing added", n, had);
}

void zyntax_semaphore_close(zyntax_semaphore *sem) {
  if (sem == NULL) {
    zx_fail_code(__func__, ZYNTAX_EINVAL);
    return;
  }
  zx_wakes wakes = ZX_WAKES_INIT;
  zx_lock(&sem->lock);
  zx_waitq_close(&sem->q, &wakes);
  zx_unlock(&sem->lock);
  zx_wakes_run(&wakes);
}

void zyntax_semaphore_drop(zyntax_semaphore *sem) {
  if (sem != NULL) sem_unref(sem);
}

int zyntax_acquire_create(zyntax_semaphore *sem, zyntax_acquire **out) {
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  *out = NULL;
  if (sem == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  zyntax_acquire *op = calloc(1, sizeof *op);
  if (op == NULL) return zx_fail_code(__func__, ZYNTAX_ENOMEM);
  op->sem = sem;
  zx_lock(&sem->lock);
  sem->refs++;
  zx_unlock(&sem->lock);
  *out = op;
  return 0;
}

zyntax_poll zyntax_acquire_poll(zyntax_acquire *op, const zyntax_waker *waker,
                                int *result) {
  if (op == NULL || waker == NULL || result == NULL) {
    int bad = zx_fail_code(__func__, ZYNTAX_EINVAL); /* recorded even without result */
    if (result) *result = bad;
    return ZYNTAX_READY;
  }
  zx_lock(&op->sem->lock);
  int got = zx_waitq_acquire(&op->sem->q, &op->wait, waker);
  zx_unlock(&op->sem->lock);
  if (got == 0) return ZYNTAX_PENDING;
  *result = got == 1 ? 0 : ZYNTAX_ECLOSED;
  return ZYNTAX_READY;
}

void zyntax_acquire_drop(zyntax_acquire *op) {
  if (op == NULL) return;
  zyntax_semaphore *sem = op->sem;
  zx_wakes wakes = ZX_WAKES_INIT;
  zx_lock(&sem->lock);
  zx_waitq_cancel(&sem->q, &op->wait, &wakes);
  zx_unlock(&sem->lock);
  zx_wakes_run(&wakes);
  free(op);
  sem_unref(sem);
}
