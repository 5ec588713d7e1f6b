/* Combinators as loader-side futures: a user future wrapped as a
 * zyntax_future, timeout, select and join_all. They own their children
 * and poll them with the task's waker; nothing here is backend-specific. */
#include <stdlib.h>

#include "shared.h"

/* ---- a user future as a zyntax_future ---- */

typedef struct from_future {
  zyntax_future base;
  void *state;
  const zyntax_future_vtable *vt;
} from_future;

static zyntax_poll from_poll(zyntax_future *f, const zyntax_waker *waker) {
  from_future *u = (from_future *)f;
  zyntax_poll p = u->vt->poll(u->state, waker);
  if (p == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  f->result = p == ZYNTAX_READY ? 0 : ZYNTAX_EBADPOLL;
  return ZYNTAX_READY;
}

static void from_drop(zyntax_future *f) {
  from_future *u = (from_future *)f;
  if (u->vt->drop) u->vt->drop(u->state);
  free(u);
}

static const zyntax_future_ops from_ops = ZYNTAX_FUTURE_OPS_INIT(from_poll, from_drop);

int zyntax_user_future(void *state, const zyntax_future_vtable *vtable,
                       zyntax_future **out) {
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  *out = NULL;
  if (vtable == NULL || vtable->poll == NULL)
    return zx_fail_code(__func__, ZYNTAX_EINVAL);
  from_future *u = malloc(sizeof *u);
  if (u == NULL) return zx_fail_code(__func__, ZYNTAX_ENOMEM);
  *u = (from_future){{&from_ops, ZYNTAX_NOT_FINISHED}, state, vtable};
  *out = &u->base;
  return 0;
}

void *zyntax_future_state(const zyntax_future *f) {
  if (f == NULL) {
    zx_fail_code(__func__, ZYNTAX_EINVAL);
    return NULL;
  }
  return f->ops == &from_ops ? ((const from_future *)f)->state : NULL;
}

/* ---- the combinators: one record, children inline ---- */

typedef struct combo {
  zyntax_future base;
  zyntax_future *timer; /* timeout only */
  size_t n;
  zyntax_future *child[]; /* NULL once dropped */
} combo;

static void drop_child(combo *c, size_t i) {
  zyntax_future_drop(c->child[i]);
  c->child[i] = NULL;
}

static void combo_drop(zyntax_future *f) {
  combo *c = (combo *)f;
  for (size_t i = 0; i < c->n; i++) zyntax_future_drop(c->child[i]);
  zyntax_future_drop(c->timer);
  free(c);
}

static zyntax_poll ready(zyntax_future *f, int result) {
  f->result = result;
  return ZYNTAX_READY;
}

static zyntax_poll select_poll(zyntax_future *f, const zyntax_waker *waker) {
  combo *c = (combo *)f;
  int rc; /* the winner's result stays readable through its child */
  for (size_t i = 0; i < c->n; i++) {
    if (zyntax_future_poll(c->child[i], waker, &rc) == ZYNTAX_PENDING) continue;
    for (size_t j = 0; j < c->n; j++)
      if (j != i) drop_child(c, j); /* the losers, exactly once */
    return ready(f, (int)i);
  }
  return ZYNTAX_PENDING;
}

static zyntax_poll join_poll(zyntax_future *f, const zyntax_waker *waker) {
  combo *c = (combo *)f;
  int pending = 0, rc;
  /* zyntax_future_poll never calls a READY child's poll again. */
  for (size_t i = 0; i < c->n; i++)
    pending |= zyntax_future_poll(c->child[i], waker, &rc) == ZYNTAX_PENDING;
  return pending ? ZYNTAX_PENDING : ready(f, 0);
}

static zyntax_poll timeout_poll(zyntax_future *f, const zyntax_waker *waker) {
  combo *c = (combo *)f;
  int rc;
  if (zyntax_future_poll(c->child[0], waker, &rc) == ZYNTAX_READY) {
    zyntax_future_drop(c->timer);
    c->timer = NULL;
    return ready(f, rc);
  }
  if (zyntax_future_poll(c->timer, waker, &rc) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  drop_child(c, 0); /* cancelled by the deadline */
  return ready(f, rc < 0 ? rc : ZYNTAX_ETIMEDOUT);
}

static const zyntax_future_ops select_ops = ZYNTAX_FUTURE_OPS_INIT(select_poll, combo_drop);
static const zyntax_future_ops join_ops = ZYNTAX_FUTURE_OPS_INIT(join_poll, combo_drop);
static const zyntax_future_ops timeout_ops = ZYNTAX_FUTURE_OPS_INIT(timeout_poll, combo_drop);

zyntax_future *zyntax_future_child(const zyntax_future *f, size_t i) {
  if (f == NULL) {
    zx_fail_code(__func__, ZYNTAX_EINVAL);
    return NULL;
  }
  if (f->ops != &select_ops && f->ops != &join_ops && f->ops != &timeout_ops) return NULL;
  const combo *c = (const combo *)f;
  return i < c->n ? c->child[i] : NULL;
}

/* Takes the children (dropping them on failure); `*out` is the new
 * combinator or NULL. */
static int combo_new(const zyntax_future_ops *ops, zyntax_future *const *children,
                     size_t n, zyntax_future **out, const char *func) {
  int bad = out == NULL || children == NULL || n == 0 ||
            n > (SIZE_MAX - sizeof(combo)) / sizeof(void *);
  for (size_t i = 0; !bad && i < n; i++) bad = children[i] == NULL;
  combo *c = bad ? NULL : malloc(sizeof *c + n * sizeof c->child[0]);
  if (out != NULL) *out = NULL;
  if (c == NULL) {
    for (size_t i = 0; children != NULL && i < n; i++) zyntax_future_drop(children[i]);
    return zx_fail_code(func, bad ? ZYNTAX_EINVAL : ZYNTAX_ENOMEM);
  }
  c->base = (zyntax_future){ops, ZYNTAX_NOT_FINISHED};
  c->timer = NULL;
  c->n = n;
  for (size_t i = 0; i < n; i++) c->child[i] = children[i];
  *out = &c->base;
  return 0;
}

int zyntax_select_future(zyntax_future *const *children, size_t n,
                         zyntax_future **out) {
  return combo_new(&select_ops, children, n, out, __func__);
}

int zyntax_join_all_future(zyntax_future *const *children, size_t n,
                           zyntax_future **out) {
  return combo_new(&join_ops, children, n, out, __func__);
}

int zyntax_timeout_future(zyntax_runtime *rt, zyntax_future *inner, uint64_t ns,
                          zyntax_future **out) {
  zyntax_future *timer = NULL;
  if (out != NULL) *out = NULL;
  if (rt == NULL || out == NULL) {
    zyntax_future_drop(inner);
    return zx_fail_code(__func__, ZYNTAX_EINVAL);
  }
  if (inner != NULL) {
    int rc = zyntax_sleep_future(rt, ns, &timer);
    if (rc != 0) {
      zyntax_future_drop(inner);
      return zx_fail_code(__func__, rc);
    }
  }
  int rc = combo_new(&timeout_ops, &inner, 1, out, __func__);
  if (rc != 0) {
    zyntax_future_drop(timer);
    return rc;
  }
  ((combo *)*out)->timer = timer;
  return 0;
}
