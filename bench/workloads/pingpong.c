/* ping_pong: P pairs of tasks bouncing a ball R round trips, each side
 * waiting on its own zyntax_notify - as native Tokio's ping_pong uses
 * tokio::sync::Notify. The notifies and waiting records are made before
 * the timed region (as the native uv/ev programs calloc their watchers
 * there) and reused by every round trip. */
#include <stdlib.h>

#include <zyntax/sync.h>

#include "zy.h"

typedef struct pp_side {
  zy_latch *latch;
  zyntax_notify *out;     /* the other side's */
  zyntax_notified *wait;  /* on this side's notify */
  uint32_t left;          /* round trips still to make */
  unsigned char serves;   /* side A sends first, side B answers */
  unsigned char sent;     /* this round's send is done (A) */
} pp_side;

static zyntax_poll pp_poll(void *state, const zyntax_waker *waker) {
  pp_side *s = state;
  int rc; /* always 0: a notify cannot fail once created */
  while (s->left > 0) {
    if (s->serves && !s->sent) {
      zyntax_notify_one(s->out);
      s->sent = 1;
    }
    if (zyntax_notified_poll(s->wait, waker, &rc) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
    if (!s->serves) zyntax_notify_one(s->out);
    s->sent = 0;
    s->left--;
  }
  zy_latch_count_down(s->latch, 1);
  return ZYNTAX_READY;
}

static const zyntax_future_vtable pp_vtable = {pp_poll, NULL};

typedef struct pp_pair {
  zyntax_notify *to[2];      /* to[i]: wakes side i */
  zyntax_notified *wait[2];  /* side i's waiting record on to[i] */
} pp_pair;

typedef struct pp_run {
  const zb_sizes *sizes;
  pp_pair *pairs;
} pp_run;

static uint64_t start_pairs(zy_root *root) {
  const pp_run *run = root->ctx;
  uint32_t n = run->sizes->pingpong_pairs;
  for (uint32_t i = 0; i < 2 * n; i++) {
    pp_pair *p = &run->pairs[i / 2];
    int me = (int)(i % 2);
    pp_side side = {&root->latch, p->to[!me], p->wait[me], run->sizes->pingpong_rounds,
                    (unsigned char)(me == 0), 0};
    if (zy_spawn_detached(root->rt, &pp_vtable, &side, sizeof side) != 0)
      return 2 * (uint64_t)n - i;
  }
  return 0;
}

static void pairs_free(pp_pair *pairs, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    for (int k = 0; k < 2; k++) {
      zyntax_notified_drop(pairs[i].wait[k]);
      zyntax_notify_drop(pairs[i].to[k]);
    }
  free(pairs);
}

static pp_pair *pairs_new(uint32_t n) {
  pp_pair *pairs = calloc(n, sizeof *pairs);
  if (pairs == NULL) return NULL;
  for (uint32_t i = 0; i < n; i++)
    for (int k = 0; k < 2; k++) {
      if (zyntax_notify_create(&pairs[i].to[k]) != 0 ||
          zyntax_notified_create(pairs[i].to[k], &pairs[i].wait[k]) != 0) {
        pairs_free(pairs, i + 1);
        return NULL;
      }
    }
  return pairs;
}

int zy_ping_pong(const zb_sizes *sizes, zb_sample *out) {
  pp_run run = {sizes, pairs_new(sizes->pingpong_pairs)};
  if (run.pairs == NULL) return zb_fail("ping_pong: out of memory");
  int rc = zy_run_root(zy_runtime(), 2 * (uint64_t)sizes->pingpong_pairs, start_pairs,
                       &run, out);
  pairs_free(run.pairs, sizes->pingpong_pairs);
  out->ops = (uint64_t)sizes->pingpong_pairs * sizes->pingpong_rounds;
  return rc;
}
