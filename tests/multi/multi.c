/* Several runtimes at once, in one process: every usable backend of the
 * build (zyntax_backend_foreach: linked-in ones and plugins on the search
 * path) side by side, each driven by its own thread, connected by
 * channels. Checks that every message crosses exactly once, that wakers
 * and spawns work across runtimes, and that zyntax_runtime_current() is
 * right in every poll. A test needing two backends skips with one. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zyntax/runtime.h>

#include "support.h"

#define EXCHANGE 100000 /* messages each way */
#define SEQ_BITS 40
#define FAN_RUNTIMES 8 /* producers in fan_in_from_many_runtimes: tags 1..8 */

static atomic_int wrong_current; /* polls that saw another runtime */

static void expect_current(zyntax_runtime *rt) {
  if (zyntax_runtime_current() != rt) atomic_fetch_add(&wrong_current, 1);
}


/* The usable backends, by name, sorted and without duplicates (a backend
 * may be linked in and installed as a plugin). */
#define MAX_BACKENDS 8
static char backend_names[MAX_BACKENDS][64];
static int backend_count;

static int add_backend(const zyntax_backend_info *info, void *arg) {
  (void)arg;
  if (info->status != 0) return 0;
  for (int i = 0; i < backend_count; i++)
    if (strcmp(backend_names[i], info->name) == 0) return 0;
  if (backend_count < MAX_BACKENDS)
    snprintf(backend_names[backend_count++], sizeof backend_names[0], "%s", info->name);
  return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

static void find_backends(void) {
  assert_int_equal(zyntax_backend_foreach(add_backend, NULL), 0);
  qsort(backend_names, (size_t)backend_count, sizeof backend_names[0], by_name);
}

/* Skips the test unless at least `n` backends are usable. */
static void need_backends(int n) {
  if (backend_count >= n) return;
  print_message("skipping: %d backend(s) usable here, %d needed\n", backend_count, n);
  skip();
}

/* Each runtime is driven by a thread of its own until its tasks are done. */
typedef struct driver {
  zyntax_runtime *rt;
  pthread_t th;
  int rc;
} driver;

static void *drive(void *arg) {
  driver *d = arg;
  d->rc = zyntax_runtime_run(d->rt);
  return NULL;
}

static void start(driver *d, zyntax_runtime *rt) {
  d->rt = rt;
  d->rc = -1;
  assert_int_equal(pthread_create(&d->th, NULL, drive, d), 0);
}

static void finish(driver *d) {
  pthread_join(d->th, NULL);
  assert_int_equal(d->rc, 0);
  assert_int_equal(zyntax_runtime_destroy(d->rt), 0);
}

/* One task that sends `count` tagged sequence numbers on `tx` and receives
 * on `rx` until it is closed, checking each sender tag's sequence. */
typedef struct peer {
  zyntax_runtime *rt; /* where it runs */
  zyntax_sender *tx;
  zyntax_receiver *rx;
  uint64_t tag, sent, count;
  uint64_t item, have_item; /* the item being sent while the channel is full */
  uint64_t next_seq[FAN_RUNTIMES + 1], received, sum, bad; /* by tag */
  int rx_done;
} peer;

static zyntax_poll peer_send(peer *p, const zyntax_waker *waker) {
  while (p->tx != NULL) {
    if (p->sent == p->count) {
      zyntax_sender_drop(p->tx); /* the other side sees the end */
      p->tx = NULL;
      break;
    }
    uint64_t item = p->tag << SEQ_BITS | p->sent;
    int rc;
    if (zyntax_sender_poll_send(p->tx, waker, &item, &rc) == ZYNTAX_PENDING)
      return ZYNTAX_PENDING;
    if (rc != 0) p->bad++;
    p->sent++;
  }
  return ZYNTAX_READY;
}

static zyntax_poll peer_recv(peer *p, const zyntax_waker *waker) {
  while (!p->rx_done) {
    uint64_t item;
    int rc;
    if (zyntax_receiver_poll_recv(p->rx, waker, &item, &rc) == ZYNTAX_PENDING)
      return ZYNTAX_PENDING;
    if (rc != 0) {
      p->rx_done = 1;
      break;
    }
    uint64_t tag = item >> SEQ_BITS, seq = item & ((1ull << SEQ_BITS) - 1);
    if (tag > FAN_RUNTIMES || seq != p->next_seq[tag]) p->bad++;
    else p->next_seq[tag]++;
    p->received++;
    p->sum += seq;
  }
  return ZYNTAX_READY;
}

/* Sends and receives interleaved: both must be done. */
static zyntax_poll peer_poll(void *state, const zyntax_waker *waker) {
  peer *p = state;
  expect_current(p->rt);
  int sending = p->tx != NULL && peer_send(p, waker) == ZYNTAX_PENDING;
  int receiving = p->rx != NULL && peer_recv(p, waker) == ZYNTAX_PENDING;
  return sending || receiving ? ZYNTAX_PENDING : ZYNTAX_READY;
}

static void peer_drop(void *state) {
  peer *p = state;
  zyntax_sender_drop(p->tx);
  zyntax_receiver_drop(p->rx);
  p->tx = NULL;
  p->rx = NULL;
}

static const zyntax_future_vtable peer_vt = {peer_poll, peer_drop};

static zyntax_channel_options u64_channel(size_t capacity) {
  zyntax_channel_options o = ZYNTAX_CHANNEL_OPTIONS_INIT;
  o.item_size = sizeof(uint64_t);
  o.capacity = capacity;
  return o;
}

/* A task on `a` and a task on `b` exchange EXCHANGE messages each way
 * through two bounded channels; every message is accounted for. */
static void exchange(const char *backend_a, const char *backend_b) {
  atomic_store(&wrong_current, 0);
  zyntax_runtime *a = test_runtime_of(backend_a, 2);
  zyntax_runtime *b = a ? test_runtime_of(backend_b, 2) : NULL;
  if (b == NULL) {
    if (a) zyntax_runtime_destroy(a);
    skip();
  }
  zyntax_channel_options o = u64_channel(64);
  static peer pa, pb;
  pa = (peer){.rt = a, .tag = 1, .count = EXCHANGE};
  pb = (peer){.rt = b, .tag = 2, .count = EXCHANGE};
  assert_int_equal(zyntax_channel_create(&o, &pa.tx, &pb.rx), 0); /* a -> b */
  assert_int_equal(zyntax_channel_create(&o, &pb.tx, &pa.rx), 0); /* b -> a */
  zyntax_task *ta;
  zyntax_runtime_spawn_future(a, &pa, &peer_vt, &ta);
  zyntax_task *tb;
  zyntax_runtime_spawn_future(b, &pb, &peer_vt, &tb);
  assert_non_null(ta);
  assert_non_null(tb);
  driver da, db;
  start(&da, a);
  start(&db, b);
  pthread_join(da.th, NULL);
  pthread_join(db.th, NULL);
  assert_int_equal(da.rc, 0);
  assert_int_equal(db.rc, 0);
  assert_int_equal(zyntax_task_status(ta), 0);
  assert_int_equal(zyntax_task_status(tb), 0);
  const uint64_t sum = (uint64_t)EXCHANGE * (EXCHANGE - 1) / 2;
  assert_int_equal(pa.received, EXCHANGE);
  assert_int_equal(pb.received, EXCHANGE);
  assert_int_equal(pa.next_seq[2], EXCHANGE);
  assert_int_equal(pb.next_seq[1], EXCHANGE);
  assert_int_equal(pa.sum, sum);
  assert_int_equal(pb.sum, sum);
  assert_int_equal(pa.bad + pb.bad, 0);
  assert_int_equal(atomic_load(&wrong_current), 0);
  zyntax_task_drop(ta); /* drops the states: the receivers go */
  zyntax_task_drop(tb);
  assert_int_equal(zyntax_runtime_destroy(a), 0);
  assert_int_equal(zyntax_runtime_destroy(b), 0);
}

/* The first backend exchanges with every other one. */
static void exchange_100k_between_backends(void **state) {
  (void)state;
  need_backends(2);
  for (int i = 1; i < backend_count; i++) exchange(backend_names[0], backend_names[i]);
}

/* Producers on two runtimes of every backend (same and different backends
 * at once) fan in to one consumer. */
#define FAN_EACH 10000

static void fan_in_from_many_runtimes(void **state) {
  (void)state;
  atomic_store(&wrong_current, 0);
  zyntax_runtime *rts[FAN_RUNTIMES + 1];
  int n = 0;
  for (int i = 0; i < 2 * backend_count && n < FAN_RUNTIMES; i++) {
    rts[n] = test_runtime_of(backend_names[i / 2], 2);
    if (rts[n] != NULL) n++;
  }
  if (n < 2) {
    for (int i = 0; i < n; i++) zyntax_runtime_destroy(rts[i]);
    skip();
  }
  zyntax_channel_options o = u64_channel(16);
  static peer producers[FAN_RUNTIMES], consumer;
  zyntax_sender *tx;
  consumer = (peer){.rt = rts[0]};
  assert_int_equal(zyntax_channel_create(&o, &tx, &consumer.rx), 0);
  zyntax_task *tasks[FAN_RUNTIMES + 1];
  for (int i = 0; i < n; i++) {
    producers[i] = (peer){.rt = rts[i], .tag = (uint64_t)i + 1, .count = FAN_EACH};
    assert_int_equal(zyntax_sender_clone(tx, &producers[i].tx), 0);
    zyntax_runtime_spawn_future(rts[i], &producers[i], &peer_vt, &tasks[i]);
  }
  zyntax_sender_drop(tx);
  zyntax_runtime_spawn_future(rts[0], &consumer, &peer_vt, &tasks[n]);
  driver d[FAN_RUNTIMES];
  for (int i = 0; i < n; i++) start(&d[i], rts[i]);
  for (int i = 0; i < n; i++) pthread_join(d[i].th, NULL);
  assert_int_equal(consumer.received, (uint64_t)n * FAN_EACH);
  for (int i = 0; i < n; i++) {
    assert_int_equal(d[i].rc, 0);
    assert_int_equal(consumer.next_seq[i + 1], FAN_EACH);
  }
  assert_int_equal(consumer.bad, 0);
  assert_int_equal(atomic_load(&wrong_current), 0);
  for (int i = 0; i <= n; i++) zyntax_task_drop(tasks[i]);
  for (int i = 0; i < n; i++) assert_int_equal(zyntax_runtime_destroy(rts[i]), 0);
}

/* A task of one backend spawns a task onto a runtime of another from its
 * poll, then awaits that task's join future; the target runtime is kept
 * alive by a notify the test thread fires; a task handle of one runtime is
 * refused by another. */
typedef struct child {
  zyntax_runtime *rt;
  atomic_int ran;
} child;

static zyntax_poll child_poll(void *state, const zyntax_waker *waker) {
  (void)waker;
  child *c = state;
  expect_current(c->rt);
  atomic_store(&c->ran, 1);
  return ZYNTAX_READY;
}

typedef struct spawner {
  zyntax_runtime *self, *other;
  child *c;
  zyntax_future *join;
  int join_result;
} spawner;

static zyntax_poll spawner_poll(void *state, const zyntax_waker *waker) {
  spawner *s = state;
  expect_current(s->self);
  if (s->join == NULL) {
    zyntax_task *t = zyntax_runtime_spawn(s->other, s->c, child_poll);
    if (t == NULL) {
      s->join_result = zyntax_last_error()->code;
      return ZYNTAX_READY;
    }
    zyntax_task_join_future(t, &s->join); /* holds its own reference */
    zyntax_task_drop(t);
  }
  if (zyntax_future_poll(s->join, waker, &s->join_result) == ZYNTAX_PENDING)
    return ZYNTAX_PENDING;
  zyntax_future_drop(s->join);
  s->join = NULL;
  return ZYNTAX_READY;
}

typedef struct keeper {
  zyntax_runtime *rt;
  zyntax_notified *wait;
  int result;
} keeper;

static zyntax_poll keeper_poll(void *state, const zyntax_waker *waker) {
  keeper *k = state;
  expect_current(k->rt);
  return zyntax_notified_poll(k->wait, waker, &k->result);
}

static void spawn_and_join_across_runtimes(void **state) {
  (void)state;
  atomic_store(&wrong_current, 0);
  need_backends(2);
  zyntax_runtime *uv = test_runtime_of(backend_names[0], 0); /* the target */
  assert_non_null(uv);
  zyntax_runtime *other = test_runtime_of(backend_names[backend_count - 1], 2);
  assert_non_null(other);
  zyntax_notify *n;
  assert_int_equal(zyntax_notify_create(&n), 0);
  keeper k = {uv, NULL, -99};
  assert_int_equal(zyntax_notified_create(n, &k.wait), 0);
  child c = {uv, 0};
  spawner s = {other, uv, &c, NULL, -99};
  zyntax_task *kt = zyntax_runtime_spawn(uv, &k, keeper_poll);
  zyntax_task *st = zyntax_runtime_spawn(other, &s, spawner_poll);
  assert_int_equal(zyntax_runtime_block_on(uv, st), ZYNTAX_EFOREIGN);
  driver du;
  start(&du, uv);
  assert_int_equal(zyntax_runtime_block_on(other, st), 0);
  assert_int_equal(s.join_result, 0);
  assert_int_equal(atomic_load(&c.ran), 1);
  zyntax_notify_one(n); /* from this thread: the uv keeper ends */
  finish(&du);
  assert_int_equal(zyntax_task_status(kt), 0);
  assert_int_equal(atomic_load(&wrong_current), 0);
  assert_null(zyntax_runtime_current());
  zyntax_task_drop(kt);
  zyntax_task_drop(st);
  zyntax_notified_drop(k.wait);
  zyntax_notify_drop(n);
  assert_int_equal(zyntax_runtime_destroy(other), 0);
}

/* A token around a ring of one runtime per backend (say uv -> ev -> tokio
 * -> uv) through one-slot channels: every hop wakes a task of another
 * runtime. */
#define HOPS 3000

typedef struct relay {
  zyntax_runtime *rt;
  zyntax_receiver *in;
  zyntax_sender *out;
  uint64_t token, hops;
  int holding, done;
} relay;

static zyntax_poll relay_poll(void *state, const zyntax_waker *waker) {
  relay *r = state;
  expect_current(r->rt);
  for (;;) {
    int rc;
    if (!r->holding) {
      if (zyntax_receiver_poll_recv(r->in, waker, &r->token, &rc) == ZYNTAX_PENDING)
        return ZYNTAX_PENDING;
      if (rc != 0) return ZYNTAX_READY; /* the ring is closing */
      r->holding = 1;
      r->hops++;
      if (r->token < HOPS) r->token++;
    }
    if (zyntax_sender_poll_send(r->out, waker, &r->token, &rc) == ZYNTAX_PENDING)
      return ZYNTAX_PENDING;
    r->holding = 0;
    if (r->token >= HOPS || rc != 0) {
      zyntax_sender_drop(r->out); /* the next one ends after this token */
      r->out = NULL;
      return ZYNTAX_READY;
    }
  }
}

static void relay_drop(void *state) {
  relay *r = state;
  zyntax_sender_drop(r->out);
  zyntax_receiver_drop(r->in);
}

static const zyntax_future_vtable relay_vt = {relay_poll, relay_drop};

static void token_ring_through_every_backend(void **state) {
  (void)state;
  need_backends(2);
  atomic_store(&wrong_current, 0);
  const int n = backend_count;
  zyntax_runtime *rt[MAX_BACKENDS];
  for (int i = 0; i < n; i++) {
    rt[i] = test_runtime_of(backend_names[i], 2);
    assert_non_null(rt[i]);
  }
  zyntax_channel_options o = u64_channel(1);
  static relay r[MAX_BACKENDS];
  for (int i = 0; i < n; i++) r[i] = (relay){.rt = rt[i]};
  for (int i = 0; i < n; i++)
    assert_int_equal(zyntax_channel_create(&o, &r[i].out, &r[(i + 1) % n].in), 0);
  uint64_t first = 0;
  assert_int_equal(zyntax_sender_try_send(r[n - 1].out, &first), 0); /* into rt[0]'s inbox */
  zyntax_task *t[MAX_BACKENDS];
  for (int i = 0; i < n; i++)
    assert_int_equal(zyntax_runtime_spawn_future(rt[i], &r[i], &relay_vt, &t[i]), 0);
  driver d[MAX_BACKENDS];
  for (int i = 0; i < n; i++) start(&d[i], rt[i]);
  uint64_t hops = 0;
  for (int i = 0; i < n; i++) {
    finish(&d[i]); /* destroy drops the task states */
    assert_int_equal(zyntax_task_status(t[i]), 0);
    hops += r[i].hops;
    zyntax_task_drop(t[i]);
  }
  assert_true(hops >= HOPS && hops <= HOPS + (uint64_t)n);
  assert_int_equal(atomic_load(&wrong_current), 0);
}

int main(void) {
  find_backends();
  for (int i = 0; i < backend_count; i++) print_message("backend: %s\n", backend_names[i]);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(exchange_100k_between_backends),
      cmocka_unit_test(fan_in_from_many_runtimes),
      cmocka_unit_test(spawn_and_join_across_runtimes),
      cmocka_unit_test(token_ring_through_every_backend),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
