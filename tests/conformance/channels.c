/* Channels and the oneshot: backpressure between tasks, producers on plain
 * threads, FIFO hand-off of slots, close from either end, every queued item
 * dropped exactly once, the receiver as a stream. */
#include <pthread.h>
#include <stdlib.h>

#include "conformance.h"

#define MESSAGES 20000
#define THREADS 4

static zyntax_channel_options int_channel(size_t capacity) {
  zyntax_channel_options o = ZYNTAX_CHANNEL_OPTIONS_INIT;
  o.item_size = sizeof(uint64_t);
  o.capacity = capacity;
  return o;
}

/* A producer task: sends 0..count-1 tagged with `tag` in the high bits. */
typedef struct producer {
  zyntax_sender *tx;
  uint64_t tag, next, count;
  atomic_int pending; /* times poll_send said PENDING (backpressure seen) */
  int result;
} producer;

static zyntax_poll producer_poll(void *state, const zyntax_waker *waker) {
  producer *p = state;
  while (p->next < p->count) {
    uint64_t item = p->tag << 40 | p->next;
    int rc;
    if (zyntax_sender_poll_send(p->tx, waker, &item, &rc) == ZYNTAX_PENDING) {
      atomic_fetch_add(&p->pending, 1);
      return ZYNTAX_PENDING;
    }
    if (rc != 0) {
      p->result = rc;
      break;
    }
    p->next++;
  }
  zyntax_sender_drop(p->tx); /* the last drop ends the consumer's loop */
  p->tx = NULL;
  return ZYNTAX_READY;
}

static void producer_drop(void *state) { zyntax_sender_drop(((producer *)state)->tx); }

static const zyntax_future_vtable producer_vt = {producer_poll, producer_drop};

/* A consumer task: receives until closed; checks each tag's order. */
typedef struct consumer {
  zyntax_receiver *rx;
  uint64_t next[THREADS + 1];
  uint64_t received, out_of_order;
  int result;
} consumer;

static zyntax_poll consumer_poll(void *state, const zyntax_waker *waker) {
  consumer *c = state;
  for (;;) {
    uint64_t item;
    int rc;
    if (zyntax_receiver_poll_recv(c->rx, waker, &item, &rc) == ZYNTAX_PENDING)
      return ZYNTAX_PENDING;
    if (rc != 0) {
      c->result = rc;
      return ZYNTAX_READY;
    }
    uint64_t tag = item >> 40, seq = item & ((1ull << 40) - 1);
    if (tag > THREADS || seq != c->next[tag]) c->out_of_order++;
    else c->next[tag]++;
    c->received++;
  }
}

static void tasks_exchange_with_backpressure(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  zyntax_channel_options o = int_channel(4);
  producer p = {0};
  consumer c = {0};
  assert_int_equal(zyntax_channel_create(&o, &p.tx, &c.rx), 0);
  p.count = MESSAGES;
  zyntax_task *pt;
  zyntax_runtime_spawn_future(rt, &p, &producer_vt, &pt);
  zyntax_task *ct = zyntax_runtime_spawn(rt, &c, consumer_poll);
  assert_int_equal(zyntax_runtime_block_on(rt, ct), 0);
  assert_int_equal(zyntax_runtime_block_on(rt, pt), 0);
  assert_int_equal(c.result, ZYNTAX_ECLOSED);
  assert_int_equal(c.received, MESSAGES);
  assert_int_equal(c.out_of_order, 0);
  assert_int_equal(p.result, 0);
  /* 4 slots for 20000 items: the producer must have waited. */
  assert_true(atomic_load(&p.pending) > 0);
  zyntax_receiver_drop(c.rx);
  zyntax_task_drop(pt);
  zyntax_task_drop(ct);
  end_runtime(rt);
}

typedef struct thread_producer {
  zyntax_sender *tx;
  uint64_t tag;
  int failures;
} thread_producer;

static void *blocking_producer(void *arg) {
  thread_producer *t = arg;
  for (uint64_t i = 0; i < MESSAGES / THREADS; i++) {
    uint64_t item = t->tag << 40 | i;
    t->failures += zyntax_sender_send_blocking(t->tx, &item) != 0;
  }
  zyntax_sender_drop(t->tx);
  return NULL;
}

static void plain_threads_produce_for_a_task(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  zyntax_channel_options o = int_channel(8);
  zyntax_sender *tx;
  consumer c = {0};
  assert_int_equal(zyntax_channel_create(&o, &tx, &c.rx), 0);
  thread_producer tp[THREADS];
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) {
    tp[i] = (thread_producer){NULL, (uint64_t)i + 1, 0};
    assert_int_equal(zyntax_sender_clone(tx, &tp[i].tx), 0);
  }
  zyntax_sender_drop(tx);
  zyntax_task *ct = zyntax_runtime_spawn(rt, &c, consumer_poll);
  for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, blocking_producer, &tp[i]);
  assert_int_equal(zyntax_runtime_block_on(rt, ct), 0);
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(tp[i].failures, 0);
    assert_int_equal(c.next[i + 1], MESSAGES / THREADS);
  }
  assert_int_equal(c.received, MESSAGES);
  assert_int_equal(c.out_of_order, 0);
  assert_int_equal(c.result, ZYNTAX_ECLOSED);
  zyntax_receiver_drop(c.rx);
  zyntax_task_drop(ct);
  end_runtime(rt);
}

/* Slots go to waiting senders in FIFO order, and a slot handed to a sender
 * that gives up passes on (no lost wake-up). Polled by hand: the channel
 * needs no runtime. */
static void slots_handed_off_in_order(void **state) {
  (void)state;
  zyntax_channel_options o = int_channel(1);
  zyntax_sender *a, *b;
  zyntax_receiver *rx;
  assert_int_equal(zyntax_channel_create(&o, &a, &rx), 0);
  assert_int_equal(zyntax_sender_clone(a, &b), 0);
  zyntax_waker w = zyntax_waker_noop();
  uint64_t one = 1, two = 2, three = 3, out = 0;
  int rc = -99;
  assert_int_equal(zyntax_sender_try_send(a, &one), 0);
  assert_int_equal(zyntax_sender_try_send(b, &two), ZYNTAX_EAGAIN);
  assert_int_equal(zyntax_sender_poll_send(a, &w, &two, &rc), ZYNTAX_PENDING);
  assert_int_equal(zyntax_sender_poll_send(b, &w, &three, &rc), ZYNTAX_PENDING);
  assert_int_equal(zyntax_receiver_try_recv(rx, &out), 0); /* slot -> a */
  assert_int_equal(out, 1);
  assert_int_equal(zyntax_sender_try_send(b, &three), ZYNTAX_EAGAIN); /* no barging */
  zyntax_sender_cancel_send(a); /* a gives up: the slot passes to b */
  assert_int_equal(zyntax_sender_poll_send(b, &w, &three, &rc), ZYNTAX_READY);
  assert_int_equal(rc, 0);
  assert_int_equal(zyntax_receiver_try_recv(rx, &out), 0);
  assert_int_equal(out, 3);
  assert_int_equal(zyntax_receiver_try_recv(rx, &out), ZYNTAX_EAGAIN);
  zyntax_sender_drop(a);
  assert_int_equal(zyntax_receiver_try_recv(rx, &out), ZYNTAX_EAGAIN);
  zyntax_sender_drop(b);
  assert_int_equal(zyntax_receiver_try_recv(rx, &out), ZYNTAX_ECLOSED);
  zyntax_receiver_drop(rx);
}

/* Items are heap pointers; the item drop frees and counts them. */
static atomic_int items_dropped;
static void free_item(void *item, void *arg) {
  assert_ptr_equal(arg, &items_dropped);
  free(*(void **)item);
  atomic_fetch_add(&items_dropped, 1);
}

/* A task waiting to send into a full channel. */
typedef struct blocked_sender {
  zyntax_sender *tx;
  void *item;
  atomic_int parked;
  int result;
} blocked_sender;

static zyntax_poll blocked_sender_poll(void *state, const zyntax_waker *waker) {
  blocked_sender *s = state;
  if (zyntax_sender_poll_send(s->tx, waker, &s->item, &s->result) == ZYNTAX_PENDING) {
    atomic_store(&s->parked, 1);
    return ZYNTAX_PENDING;
  }
  return ZYNTAX_READY;
}

static void receiver_drop_closes_and_drops_queued(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  zyntax_channel_options o = ZYNTAX_CHANNEL_OPTIONS_INIT;
  o.item_size = sizeof(void *);
  o.capacity = 3;
  o.item_drop = free_item;
  o.item_drop_arg = &items_dropped;
  atomic_store(&items_dropped, 0);
  zyntax_sender *tx;
  zyntax_receiver *rx;
  assert_int_equal(zyntax_channel_create(&o, &tx, &rx), 0);
  for (int i = 0; i < 3; i++) {
    void *p = malloc(16);
    assert_int_equal(zyntax_sender_try_send(tx, &p), 0);
  }
  blocked_sender s = {tx, malloc(16), 0, -99};
  zyntax_task *t = zyntax_runtime_spawn(rt, &s, blocked_sender_poll);
  drive_until(rt, &s.parked, 1);
  zyntax_receiver_drop(rx); /* wakes the sender, drops the 3 queued */
  assert_int_equal(atomic_load(&items_dropped), 3);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
  assert_int_equal(s.result, ZYNTAX_ECLOSED); /* its item is still its own */
  free(s.item);
  void *late = NULL;
  assert_int_equal(zyntax_sender_try_send(tx, &late), ZYNTAX_ECLOSED);
  zyntax_sender_drop(tx);
  assert_int_equal(atomic_load(&items_dropped), 3);
  zyntax_task_drop(t);
  end_runtime(rt);
}

static void last_sender_drop_ends_receiver_after_drain(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  zyntax_channel_options o = int_channel(16);
  zyntax_sender *tx;
  consumer c = {0};
  assert_int_equal(zyntax_channel_create(&o, &tx, &c.rx), 0);
  for (uint64_t i = 0; i < 5; i++) {
    uint64_t item = 1ull << 40 | i;
    assert_int_equal(zyntax_sender_try_send(tx, &item), 0);
  }
  zyntax_task *ct = zyntax_runtime_spawn(rt, &c, consumer_poll);
  zyntax_sender_drop(tx); /* queued items are still delivered */
  assert_int_equal(zyntax_runtime_block_on(rt, ct), 0);
  assert_int_equal(c.received, 5);
  assert_int_equal(c.result, ZYNTAX_ECLOSED);
  zyntax_receiver_drop(c.rx);
  zyntax_task_drop(ct);
  end_runtime(rt);
}

/* A task cancelled while its send waits: its drop releases the sender, the
 * channel forgets the waiter, the receiver is still usable. */
static void cancel_while_sending(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  zyntax_channel_options o = int_channel(1);
  producer p = {0};
  zyntax_receiver *rx;
  assert_int_equal(zyntax_channel_create(&o, &p.tx, &rx), 0);
  p.count = 10;
  zyntax_task *t;
  zyntax_runtime_spawn_future(rt, &p, &producer_vt, &t);
  drive_until(rt, &p.pending, 1);
  assert_int_equal(zyntax_task_cancel(t), 0);
  assert_int_equal(zyntax_runtime_block_on(rt, t), ZYNTAX_ECANCELED);
  uint64_t out;
  assert_int_equal(zyntax_receiver_try_recv(rx, &out), 0);
  assert_int_equal(zyntax_receiver_try_recv(rx, &out), ZYNTAX_ECLOSED);
  zyntax_receiver_drop(rx);
  zyntax_task_drop(t);
  end_runtime(rt);
}

/* for await x in stream { sum += x } */
typedef struct summer {
  zyntax_stream *s;
  uint64_t x, sum, items;
  int done, result;
} summer;

static zyntax_poll summer_poll(void *state, const zyntax_waker *waker) {
  summer *m = state;
  for (;;) {
    switch (zyntax_stream_poll_next(m->s, waker, &m->x, &m->result)) {
    case ZYNTAX_STREAM_PENDING:
      return ZYNTAX_PENDING;
    case ZYNTAX_STREAM_ITEM:
      m->sum += m->x;
      m->items++;
      break;
    case ZYNTAX_STREAM_DONE:
      m->done = 1;
      return ZYNTAX_READY;
    }
  }
}

static void receiver_as_stream(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  zyntax_channel_options o = int_channel(2);
  producer p = {0};
  zyntax_receiver *rx;
  assert_int_equal(zyntax_channel_create(&o, &p.tx, &rx), 0);
  p.count = 1000;
  summer m = {0};
  assert_int_equal(zyntax_receiver_stream(rx, &m.s), 0);
  zyntax_task *pt;
  zyntax_runtime_spawn_future(rt, &p, &producer_vt, &pt);
  zyntax_task *mt = zyntax_runtime_spawn(rt, &m, summer_poll);
  assert_int_equal(zyntax_runtime_block_on(rt, mt), 0);
  assert_int_equal(m.items, 1000);
  assert_int_equal(m.sum, 999 * 1000 / 2);
  assert_int_equal(m.result, 0);
  assert_int_equal(zyntax_stream_result(m.s), 0);
  uint64_t x;
  int rc = -1;
  assert_int_equal(zyntax_stream_poll_next(m.s, NULL, &x, &rc), ZYNTAX_STREAM_DONE);
  assert_int_equal(rc, 0);
  zyntax_stream_drop(m.s);
  zyntax_task_drop(pt);
  zyntax_task_drop(mt);
  end_runtime(rt);
}

/* ---- oneshot ---- */

typedef struct oneshot_wait {
  zyntax_oneshot_receiver *rx;
  uint64_t value;
  int result;
  atomic_int parked;
} oneshot_wait;

static zyntax_poll oneshot_wait_poll(void *state, const zyntax_waker *waker) {
  oneshot_wait *w = state;
  if (zyntax_oneshot_poll_recv(w->rx, waker, &w->value, &w->result) == ZYNTAX_READY)
    return ZYNTAX_READY;
  atomic_store(&w->parked, 1);
  return ZYNTAX_PENDING;
}

static void *send_42(void *arg) {
  uint64_t v = 42;
  return (void *)(intptr_t)zyntax_oneshot_send(arg, &v);
}

static void oneshot_send_from_thread_and_close(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  zyntax_channel_options o = int_channel(0);
  zyntax_oneshot_sender *tx;
  oneshot_wait w = {0};
  assert_int_equal(zyntax_oneshot_create(&o, &tx, &w.rx), 0);
  zyntax_task *t = zyntax_runtime_spawn(rt, &w, oneshot_wait_poll);
  drive_until(rt, &w.parked, 1);
  pthread_t th;
  pthread_create(&th, NULL, send_42, tx);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
  void *sent;
  pthread_join(th, &sent);
  assert_int_equal((intptr_t)sent, 0);
  assert_int_equal(w.result, 0);
  assert_int_equal(w.value, 42);
  zyntax_oneshot_receiver_drop(w.rx);
  zyntax_task_drop(t);

  /* The sender dropped unsent: the waiting receiver is told. */
  oneshot_wait w2 = {0};
  assert_int_equal(zyntax_oneshot_create(&o, &tx, &w2.rx), 0);
  t = zyntax_runtime_spawn(rt, &w2, oneshot_wait_poll);
  drive_until(rt, &w2.parked, 1);
  zyntax_oneshot_sender_drop(tx);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
  assert_int_equal(w2.result, ZYNTAX_ECLOSED);
  zyntax_oneshot_receiver_drop(w2.rx);
  zyntax_task_drop(t);
  end_runtime(rt);
}

static void oneshot_item_dropped_once_when_unreceived(void **state) {
  (void)state;
  zyntax_channel_options o = ZYNTAX_CHANNEL_OPTIONS_INIT;
  o.item_size = sizeof(void *);
  o.item_drop = free_item;
  o.item_drop_arg = &items_dropped;
  atomic_store(&items_dropped, 0);
  zyntax_oneshot_sender *tx;
  zyntax_oneshot_receiver *rx;
  assert_int_equal(zyntax_oneshot_create(&o, &tx, &rx), 0);
  void *p = malloc(8);
  assert_int_equal(zyntax_oneshot_send(tx, &p), 0);
  zyntax_oneshot_receiver_drop(rx);
  assert_int_equal(atomic_load(&items_dropped), 1);
  /* Receiver first: the send fails and the item stays the caller's. */
  assert_int_equal(zyntax_oneshot_create(&o, &tx, &rx), 0);
  zyntax_oneshot_receiver_drop(rx);
  p = malloc(8);
  assert_int_equal(zyntax_oneshot_send(tx, &p), ZYNTAX_ECLOSED);
  free(p);
  assert_int_equal(atomic_load(&items_dropped), 1);
}

/* Blocking sends refuse to run on a thread that polls tasks. */
typedef struct reentrant {
  zyntax_sender *tx;
  int rc;
} reentrant;

static zyntax_poll blocking_in_poll(void *state, const zyntax_waker *waker) {
  (void)waker;
  reentrant *r = state;
  uint64_t v = 1;
  r->rc = zyntax_sender_send_blocking(r->tx, &v);
  return ZYNTAX_READY;
}

static void invalid_and_reentrant_use(void **state) {
  (void)state;
  zyntax_channel_options o = int_channel(0);
  zyntax_sender *tx;
  zyntax_receiver *rx;
  assert_int_equal(zyntax_channel_create(&o, &tx, &rx), ZYNTAX_EINVAL);
  o = int_channel(1);
  o.size = 4;
  assert_int_equal(zyntax_channel_create(&o, &tx, &rx), ZYNTAX_EINVAL);
  o = int_channel(SIZE_MAX / 2);
  assert_int_equal(zyntax_channel_create(&o, &tx, &rx), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_channel_create(NULL, &tx, &rx), ZYNTAX_EINVAL);
  int rc = 0;
  assert_int_equal(zyntax_sender_poll_send(NULL, NULL, NULL, &rc), ZYNTAX_READY);
  assert_int_equal(rc, ZYNTAX_EINVAL);
  assert_int_equal(zyntax_receiver_try_recv(NULL, &rc), ZYNTAX_EINVAL);
  zyntax_sender *clone = (zyntax_sender *)&rc; /* any non-NULL value */
  assert_int_equal(zyntax_sender_clone(NULL, &clone), ZYNTAX_EINVAL);
  assert_null(clone);
  assert_int_equal(zyntax_sender_clone(NULL, NULL), ZYNTAX_EINVAL);
  zyntax_sender_drop(NULL);
  zyntax_receiver_drop(NULL);

  zyntax_runtime *rt = new_runtime();
  o = int_channel(1);
  reentrant r = {NULL, 0};
  assert_int_equal(zyntax_channel_create(&o, &r.tx, &rx), 0);
  zyntax_task *t = zyntax_runtime_spawn(rt, &r, blocking_in_poll);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
  assert_int_equal(r.rc, ZYNTAX_EREENTRANT);
  zyntax_sender_drop(r.tx);
  zyntax_receiver_drop(rx);
  zyntax_task_drop(t);
  end_runtime(rt);
}

TEST_GROUP(channel_tests) = {
    cmocka_unit_test(tasks_exchange_with_backpressure),
    cmocka_unit_test(plain_threads_produce_for_a_task),
    cmocka_unit_test(slots_handed_off_in_order),
    cmocka_unit_test(receiver_drop_closes_and_drops_queued),
    cmocka_unit_test(last_sender_drop_ends_receiver_after_drain),
    cmocka_unit_test(cancel_while_sending),
    cmocka_unit_test(receiver_as_stream),
    cmocka_unit_test(oneshot_send_from_thread_and_close),
    cmocka_unit_test(oneshot_item_dropped_once_when_unreceived),
    cmocka_unit_test(invalid_and_reentrant_use),
};
const size_t channel_count = GROUP_SIZE(channel_tests);
