/* ping_pong: P pairs of tasks bouncing a ball R round trips through wakers. */
#include <pthread.h>
#include <stdlib.h>

#include "zy.h"

/* The ball's owner and each side's parked waker. A mutex, because on a
 * multi-threaded backend both sides may be polled at the same time: a side
 * must park (store its waker) and check the turn atomically, or the hand-off
 * could fall between the two and the wake be lost. */
typedef struct pp_pair {
  pthread_mutex_t lock;
  int turn; /* 0 or 1: the side holding the ball */
  zyntax_waker parked[2];
} pp_pair;

typedef struct pp_side {
  zy_latch *latch;
  pp_pair *pair;
  int me;
  uint32_t left; /* hand-offs still to make */
} pp_side;

/* Gives the ball to the other side and wakes it if it is parked. */
static void pp_hand_over(pp_pair *pair, int me) {
  pthread_mutex_lock(&pair->lock);
  pair->turn = !me;
  zyntax_waker other = pair->parked[!me];
  pair->parked[!me] = (zyntax_waker)ZYNTAX_WAKER_EMPTY;
  pthread_mutex_unlock(&pair->lock);
  zyntax_waker_wake(&other);
}

/* 1 if `me` holds the ball; else parks `waker` and returns 0. */
static int pp_has_ball(pp_pair *pair, int me, const zyntax_waker *waker) {
  pthread_mutex_lock(&pair->lock);
  int mine = pair->turn == me;
  if (!mine) zyntax_waker_store(&pair->parked[me], waker);
  pthread_mutex_unlock(&pair->lock);
  return mine;
}

static zyntax_poll pp_poll(void *state, const zyntax_waker *waker) {
  pp_side *s = state;
  while (s->left > 0) {
    if (!pp_has_ball(s->pair, s->me, waker)) return ZYNTAX_PENDING;
    pp_hand_over(s->pair, s->me);
    s->left--;
  }
  /* Done: no waker of ours may stay behind in the pair. */
  pthread_mutex_lock(&s->pair->lock);
  zyntax_waker_drop(&s->pair->parked[s->me]);
  pthread_mutex_unlock(&s->pair->lock);
  zy_latch_count_down(s->latch, 1);
  return ZYNTAX_READY;
}

static const zyntax_future_vtable pp_vtable = {pp_poll, NULL};

typedef struct pp_run {
  const zb_sizes *sizes;
  pp_pair *pairs;
} pp_run;

static uint64_t start_pairs(zy_root *root) {
  const pp_run *run = root->ctx;
  uint32_t n = run->sizes->pingpong_pairs;
  for (uint32_t i = 0; i < 2 * n; i++) {
    pp_side side = {&root->latch, &run->pairs[i / 2], (int)(i % 2),
                    run->sizes->pingpong_rounds};
    if (zy_spawn_detached(root->rt, &pp_vtable, &side, sizeof side) != 0)
      return 2 * (uint64_t)n - i;
  }
  return 0;
}

int zy_ping_pong(const zb_sizes *sizes, zb_sample *out) {
  pp_run run = {sizes, calloc(sizes->pingpong_pairs, sizeof(pp_pair))};
  if (run.pairs == NULL) return zb_fail("ping_pong: out of memory");
  for (uint32_t i = 0; i < sizes->pingpong_pairs; i++)
    pthread_mutex_init(&run.pairs[i].lock, NULL);
  int rc = zy_run_root(zy_runtime(), 2 * (uint64_t)sizes->pingpong_pairs, start_pairs,
                       &run, out);
  for (uint32_t i = 0; i < sizes->pingpong_pairs; i++) {
    /* Each side made `rounds` hand-offs: the ball is back with side 0. */
    if (run.pairs[i].turn != 0) rc = zb_fail("ping_pong: a ball went missing");
    pthread_mutex_destroy(&run.pairs[i].lock);
  }
  free(run.pairs);
  out->ops = (uint64_t)sizes->pingpong_pairs * sizes->pingpong_rounds;
  return rc;
}
