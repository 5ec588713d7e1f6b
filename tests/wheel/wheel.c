/* The executor's timing wheel on its own (label "timers"): nodes across
 * every level fire exactly once, never before their tick and in the first
 * turn that reaches it; removed nodes never fire; a fire callback may
 * remove other nodes of the slot being fired and file new ones; a turn
 * fires at most its budget and leaves the rest due, and what it left is
 * fired before anything due later (however the clock jumps); the wheel's
 * `elapsed` never passes the tick it was turned to; the links stay
 * consistent whatever a fire callback removes; the next deadline is never
 * later than the earliest node. Deterministic: a fixed pseudo-random
 * sequence, no clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "wheel.h"

#define NODES 4096
#define START 1000000u /* the first tick (a plausible CLOCK_MONOTONIC ms) */

typedef struct tnode {
  zx_wheel_node node; /* first */
  int fired;
  int removed;
  uint64_t fired_at;
} tnode;

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_random(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* A delay reaching every level now and then, the far future included. */
static uint64_t random_delay(void) {
  switch (next_random() % 8) {
  case 0: return 1 + next_random() % 64;
  case 1: return 1 + next_random() % 4096;
  case 2: return 1 + next_random() % (1u << 18);
  case 3: return 1 + next_random() % (1ull << 30);
  case 4: return (1ull << 36) + next_random() % (1ull << 38); /* beyond the wheel */
  default: return 1 + next_random() % 200;
  }
}

typedef struct turn {
  zx_wheel *w;
  uint64_t now;
  tnode *nodes; /* for the callback that removes others */
  int remove_others;
  int refile; /* files one fresh node per firing, while any are left */
  tnode *spare;
  size_t spares;
} turn;

static void on_fire(zx_wheel_node *n, void *arg) {
  turn *t = arg;
  tnode *tn = (tnode *)n;
  assert_false(zx_wheel_linked(n));
  assert_int_equal(tn->fired, 0);
  assert_int_equal(tn->removed, 0);
  assert_true(n->when <= t->now); /* never early */
  tn->fired = 1;
  tn->fired_at = t->now;
  if (t->remove_others) /* every other node due at the same tick goes */
    for (size_t i = 0; i < NODES; i++) {
      tnode *o = &t->nodes[i];
      if (zx_wheel_linked(&o->node) && o->node.when == n->when) {
        zx_wheel_remove(t->w, &o->node);
        o->removed = 1;
      }
    }
  if (t->refile && t->spares > 0) {
    tnode *fresh = &t->spare[--t->spares];
    zx_wheel_insert(t->w, &fresh->node, t->now + 1 + next_random() % 100);
  }
}

/* Turns the wheel a tick at a time (or a jump when nothing is due for a
 * while) until it is empty; every node fires in the first turn at or after
 * its tick (a node beyond the wheel's range is re-filed, never fired). */
static void run_until_empty(zx_wheel *w, turn *t) {
  uint64_t now = START;
  while (w->count > 0) {
    uint64_t next = zx_wheel_next(w);
    assert_true(next != ZX_WHEEL_NONE);
    uint64_t exact = zx_wheel_next_exact(w, 64);
    assert_true(exact >= next);
    now = next > now ? next : now + 1;
    t->now = now;
    zx_wheel_advance(w, now, on_fire, t);
  }
  assert_int_equal(zx_wheel_next(w), ZX_WHEEL_NONE);
}

static tnode *make_nodes(zx_wheel *w, size_t n) {
  tnode *nodes = calloc(n, sizeof *nodes);
  assert_non_null(nodes);
  for (size_t i = 0; i < n; i++) zx_wheel_insert(w, &nodes[i].node, START + random_delay());
  assert_int_equal(w->count, n);
  return nodes;
}

static void every_node_fires_once_at_its_tick(void **state) {
  (void)state;
  zx_wheel w;
  zx_wheel_init(&w, START);
  tnode *nodes = make_nodes(&w, NODES);
  turn t = {&w, START, nodes, 0, 0, NULL, 0};
  run_until_empty(&w, &t);
  for (size_t i = 0; i < NODES; i++) {
    assert_int_equal(nodes[i].fired, 1);
    assert_int_equal(nodes[i].fired_at, nodes[i].node.when); /* not late either */
  }
  free(nodes);
}

static void removed_nodes_never_fire(void **state) {
  (void)state;
  zx_wheel w;
  zx_wheel_init(&w, START);
  tnode *nodes = make_nodes(&w, NODES);
  for (size_t i = 0; i < NODES; i += 1 + next_random() % 3) {
    zx_wheel_remove(&w, &nodes[i].node);
    assert_false(zx_wheel_linked(&nodes[i].node));
    nodes[i].removed = 1;
  }
  turn t = {&w, START, nodes, 0, 0, NULL, 0};
  run_until_empty(&w, &t);
  for (size_t i = 0; i < NODES; i++) assert_int_equal(nodes[i].fired, !nodes[i].removed);
  free(nodes);
}

/* Many nodes per tick, so a fired slot holds several per lane: the first
 * to fire removes the rest of its tick from under the expiry. */
static void fire_may_remove_and_file_nodes(void **state) {
  (void)state;
  zx_wheel w;
  zx_wheel_init(&w, START);
  tnode *nodes = calloc(NODES, sizeof *nodes), *spare = calloc(NODES, sizeof *spare);
  assert_non_null(nodes);
  assert_non_null(spare);
  for (size_t i = 0; i < NODES; i++)
    zx_wheel_insert(&w, &nodes[i].node, START + 1 + next_random() % 300);
  turn t = {&w, START, nodes, 1, 1, spare, NODES};
  run_until_empty(&w, &t);
  for (size_t i = 0; i < NODES; i++) assert_int_equal(nodes[i].fired + nodes[i].removed, 1);
  for (size_t i = t.spares; i < NODES; i++) assert_int_equal(spare[i].fired, 1);
  free(nodes);
  free(spare);
}

/* More nodes due at one tick than one turn fires: the rest stay filed,
 * the wheel says they are due, and later turns at the same tick fire them;
 * nodes left over can still be removed. */
static void a_turn_fires_at_most_its_budget(void **state) {
  (void)state;
  enum { DUE = 3 * ZX_WHEEL_FIRE_BUDGET + 7 };
  zx_wheel w;
  zx_wheel_init(&w, START);
  tnode *nodes = calloc(DUE, sizeof *nodes);
  assert_non_null(nodes);
  uint64_t tick = START + 100; /* filed a level up, moved down when due */
  for (size_t i = 0; i < DUE; i++) zx_wheel_insert(&w, &nodes[i].node, tick);
  turn t = {&w, tick, nodes, 0, 0, NULL, 0};
  zx_wheel_advance(&w, tick, on_fire, &t);
  size_t fired = 0;
  for (size_t i = 0; i < DUE; i++) fired += (size_t)nodes[i].fired;
  assert_int_equal(fired, ZX_WHEEL_FIRE_BUDGET);
  assert_true(zx_wheel_next(&w) <= tick);
  for (size_t i = 0; i < DUE; i++) /* remove a few of those left */
    if (!nodes[i].fired && i % 5 == 0) {
      zx_wheel_remove(&w, &nodes[i].node);
      nodes[i].removed = 1;
    }
  for (int turns = 0; w.count > 0; turns++) {
    assert_true(turns < DUE);
    zx_wheel_advance(&w, tick, on_fire, &t);
  }
  for (size_t i = 0; i < DUE; i++) assert_int_equal(nodes[i].fired + nodes[i].removed, 1);
  assert_int_equal(zx_wheel_next(&w), ZX_WHEEL_NONE);
  free(nodes);
}

/* ---- left over by the budget, with time passing (the executor's pattern:
 * thousands of tasks re-sleeping a tick ahead, a turn per budget) ---- */

#define CYCLERS (4 * ZX_WHEEL_FIRE_BUDGET)

typedef struct cycle {
  uint64_t now;
  tnode *fired[ZX_WHEEL_FIRE_BUDGET];
  size_t nfired;
} cycle;

static void on_fire_cycle(zx_wheel_node *n, void *arg) {
  cycle *c = arg;
  assert_true(n->when <= c->now); /* never early */
  assert_true(c->nfired < ZX_WHEEL_FIRE_BUDGET);
  c->fired[c->nfired++] = (tnode *)n;
}

/* Turns at `now` until nothing more is due: what is left linked is due
 * later. The fired nodes are filed again `ahead` ticks on. */
static void turn_until_idle(zx_wheel *w, cycle *c, tnode *nodes, size_t n,
                            uint64_t ahead) {
  for (int turns = 0; zx_wheel_next(w) <= c->now; turns++) {
    assert_true(turns <= (int)n);
    c->nfired = 0;
    zx_wheel_advance(w, c->now, on_fire_cycle, c);
    assert_true(w->elapsed <= c->now);
    for (size_t i = 0; i < c->nfired; i++) {
      c->fired[i]->fired++;
      zx_wheel_insert(w, &c->fired[i]->node, c->now + ahead);
    }
  }
  for (size_t i = 0; i < n; i++) assert_true(nodes[i].node.when > c->now);
}

/* Every node re-files itself a tick ahead whenever it fires; at each 64-
 * tick boundary all of them are due in one level-1 slot (at the first, a
 * level-3 slot), more than a turn fires. The ones left over must not wait
 * behind the level-0 nodes filed by the ones that fired, whether the clock
 * moves a tick at a time or jumps (a busy loop turns late). */
static void nodes_left_by_the_budget_are_not_overtaken(void **state) {
  (void)state;
  static const uint64_t steps[] = {1, 1, 1, 2, 1, 7, 1, 30, 1, 64, 3, 100, 1, 1, 65, 1};
  tnode *nodes = calloc(CYCLERS, sizeof *nodes);
  assert_non_null(nodes);
  zx_wheel w;
  uint64_t start = (START | ((1u << 18) - 1)) - 1; /* two ticks before a level-3 boundary */
  zx_wheel_init(&w, start);
  for (size_t i = 0; i < CYCLERS; i++) zx_wheel_insert(&w, &nodes[i].node, start + 2);
  cycle c = {.now = start};
  for (size_t k = 0; k < 400; k++) {
    c.now += steps[k % (sizeof steps / sizeof steps[0])];
    turn_until_idle(&w, &c, nodes, CYCLERS, 1);
  }
  for (size_t i = 0; i < CYCLERS; i++) assert_true(nodes[i].fired >= 300);
  free(nodes);
}

/* ---- random operations, links checked after each ---- */

#define RNODES 1500

typedef struct chaos {
  zx_wheel *w;
  uint64_t now;
  tnode *nodes;
  int linked[RNODES]; /* what the wheel should have linked */
} chaos;

static void check_links(const chaos *k) {
  uint64_t linked = 0;
  for (size_t i = 0; i < RNODES; i++) {
    const zx_wheel_node *n = &k->nodes[i].node;
    assert_int_equal(zx_wheel_linked(n), k->linked[i]);
    if (!k->linked[i]) continue;
    linked++;
    assert_ptr_equal(*n->pprev, n); /* the link pointing at it is its own */
    if (n->next != NULL) assert_ptr_equal(n->next->pprev, &n->next);
  }
  assert_int_equal(k->w->count, linked);
}

static void chaos_remove(chaos *k, size_t i) {
  if (!k->linked[i]) return;
  zx_wheel_remove(k->w, &k->nodes[i].node);
  k->linked[i] = 0;
}

/* Fires; now and then removes random others (of the slot being fired or
 * not) and files one. */
static void on_fire_chaos(zx_wheel_node *n, void *arg) {
  chaos *k = arg;
  size_t i = (size_t)((tnode *)n - k->nodes);
  assert_true(k->linked[i]);
  assert_true(n->when <= k->now); /* never early */
  k->linked[i] = 0;
  k->nodes[i].fired++;
  if (next_random() % 3 == 0)
    for (int r = 0; r < 3; r++) chaos_remove(k, next_random() % RNODES);
  if (next_random() % 4 == 0) {
    size_t j = next_random() % RNODES;
    if (!k->linked[j] && j != i) {
      zx_wheel_insert(k->w, &k->nodes[j].node, k->now + 1 + next_random() % 100);
      k->linked[j] = 1;
    }
  }
}

static void chaos_insert(chaos *k, size_t i, uint64_t delay) {
  if (k->linked[i]) return;
  uint64_t when = k->now + delay;
  if (when <= k->w->elapsed) when = k->w->elapsed + 1;
  zx_wheel_insert(k->w, &k->nodes[i].node, when);
  k->linked[i] = 1;
}

static void chaos_turns(chaos *k) {
  static const uint64_t jumps[] = {0, 1, 1, 3, 17, 64, 200, 4100};
  k->now += jumps[next_random() % (sizeof jumps / sizeof jumps[0])];
  for (int turns = 0;; turns++) {
    assert_true(turns <= RNODES);
    zx_wheel_advance(k->w, k->now, on_fire_chaos, k);
    assert_true(k->w->elapsed <= k->now);
    check_links(k);
    if (k->w->count == 0 || zx_wheel_next(k->w) > k->now) break;
  }
  for (size_t i = 0; i < RNODES; i++) /* nothing due is left behind */
    if (k->linked[i]) assert_true(k->nodes[i].node.when > k->now);
}

static void random_operations_keep_links_and_order(void **state) {
  (void)state;
  tnode *nodes = calloc(RNODES, sizeof *nodes);
  assert_non_null(nodes);
  zx_wheel w;
  chaos k = {.w = &w, .now = START, .nodes = nodes};
  zx_wheel_init(&w, START);
  for (int step = 0; step < 20000; step++) {
    switch (next_random() % 10) {
    case 0: case 1: case 2: case 3:
      chaos_insert(&k, next_random() % RNODES, random_delay() % (1u << 20));
      break;
    case 4: /* a burst due at one tick: more than a turn fires */
      for (size_t i = 0, d = 1 + next_random() % 200; i < RNODES / 4; i++)
        chaos_insert(&k, next_random() % RNODES, d);
      break;
    case 5:
      chaos_remove(&k, next_random() % RNODES);
      break;
    default:
      chaos_turns(&k);
    }
    check_links(&k);
  }
  free(nodes);
}

static void clear_unlinks_every_node(void **state) {
  (void)state;
  zx_wheel w;
  zx_wheel_init(&w, START);
  tnode *nodes = make_nodes(&w, NODES);
  zx_wheel_clear(&w);
  assert_int_equal(w.count, 0);
  assert_int_equal(zx_wheel_next(&w), ZX_WHEEL_NONE);
  for (size_t i = 0; i < NODES; i++) assert_false(zx_wheel_linked(&nodes[i].node));
  free(nodes);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_node_fires_once_at_its_tick),
      cmocka_unit_test(removed_nodes_never_fire),
      cmocka_unit_test(fire_may_remove_and_file_nodes),
      cmocka_unit_test(a_turn_fires_at_most_its_budget),
      cmocka_unit_test(nodes_left_by_the_budget_are_not_overtaken),
      cmocka_unit_test(random_operations_keep_links_and_order),
      cmocka_unit_test(clear_unlinks_every_node),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
