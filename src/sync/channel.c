/* The bounded multi-producer single-consumer channel: a ring of
 * capacity * item_size bytes allocated once, one mutex, and a waitq whose
 * permits are the free slots (waiting senders get slots in FIFO order). The
 * receiver's waker is taken out of its slot by the sender that wakes it, so
 * it is woken after the mutex is released and never used after a drop.
 * Memory: every field is read and written under `lock`; the mutex orders an
 * item's bytes before the receiver sees it. */
#include <stdlib.h>
#include <string.h>

#include "shared.h"
#include "sized.h"
#include "waitq.h"

typedef struct channel {
  zx_mutex lock;
  zx_waitq slots;      /* permits = free slots; waiters = senders */
  unsigned char *ring; /* capacity * item_size bytes */
  size_t item_size, capacity, head, len;
  zyntax_waker rx_waker; /* the receiver's clone while it waits */
  size_t senders;        /* live sender handles */
  int rx_alive;
  zyntax_item_drop_fn item_drop;
  void *item_drop_arg;
} channel;

struct zyntax_sender {
  channel *ch;
  zx_waiter wait; /* this handle's send in progress */
};

struct zyntax_receiver {
  channel *ch;
};

static void channel_free(channel *ch) {
  free(ch->ring);
  free(ch);
}

int zx_channel_create(const zyntax_channel_options *in, size_t capacity,
                      zyntax_sender **tx, zyntax_receiver **rx, const char *func) {
  /* A caller compiled against an older (shorter) or newer (longer) layout
   * works: the fields both know are copied, the rest keep their defaults. */
  zyntax_channel_options o = ZYNTAX_CHANNEL_OPTIONS_INIT;
  const zyntax_channel_options *opts = &o;
  if (in == NULL || tx == NULL || rx == NULL ||
      zx_sized_copy(&o, in, ZX_CHANNEL_OPTIONS_SIZE_1_0) != 0)
    return zx_fail_code(func, ZYNTAX_EINVAL);
  if (capacity == 0) capacity = o.capacity;
  if (o.item_size == 0 || capacity == 0 || capacity > SIZE_MAX / o.item_size)
    return zx_fail_code(func, ZYNTAX_EINVAL);
  channel *ch = calloc(1, sizeof *ch);
  zyntax_sender *s = calloc(1, sizeof *s);
  zyntax_receiver *r = malloc(sizeof *r);
  unsigned char *ring = ch ? malloc(capacity * opts->item_size) : NULL;
  if (ch == NULL || s == NULL || r == NULL || ring == NULL) {
    free(ring), free(r), free(s), free(ch);
    return zx_fail_code(func, ZYNTAX_ENOMEM);
  }
  zx_mutex_init(&ch->lock);
  zx_waitq_init(&ch->slots, capacity, capacity);
  ch->ring = ring;
  ch->item_size = opts->item_size;
  ch->capacity = capacity;
  ch->senders = 1;
  ch->rx_alive = 1;
  ch->item_drop = opts->item_drop;
  ch->item_drop_arg = opts->item_drop_arg;
  s->ch = ch;
  r->ch = ch;
  *tx = s;
  *rx = r;
  return 0;
}

int zyntax_channel_create(const zyntax_channel_options *opts, zyntax_sender **tx,
                          zyntax_receiver **rx) {
  return zx_channel_create(opts, 0, tx, rx, __func__);
}

int zyntax_sender_clone(zyntax_sender *tx, zyntax_sender **out) {
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  *out = NULL;
  if (tx == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  zyntax_sender *s = calloc(1, sizeof *s);
  if (s == NULL) return zx_fail_code(__func__, ZYNTAX_ENOMEM);
  s->ch = tx->ch;
  zx_lock(&tx->ch->lock);
  tx->ch->senders++;
  zx_unlock(&tx->ch->lock);
  *out = s;
  return 0;
}

/* Under the lock, with a slot held: appends the item and takes the parked
 * receiver's waker. */
static void push_locked(channel *ch, const void *item, zx_wakes *wakes) {
  size_t at = ch->head + ch->len;
  if (at >= ch->capacity) at -= ch->capacity;
  memcpy(ch->ring + at * ch->item_size, item, ch->item_size);
  ch->len++;
  zx_wakes_add(wakes, &ch->rx_waker);
}

/* One send attempt; `waker` NULL means do not wait. 0 sent, ZYNTAX_EAGAIN
 * (queued when waker is set), ZYNTAX_ECLOSED. */
static int send_once(zyntax_sender *tx, const zyntax_waker *waker, const void *item) {
  channel *ch = tx->ch;
  zx_wakes wakes = ZX_WAKES_INIT;
  int rc;
  zx_lock(&ch->lock);
  int got = zx_waitq_acquire(&ch->slots, waker ? &tx->wait : NULL, waker);
  if (got == 1 && ch->rx_alive) {
    push_locked(ch, item, &wakes);
    rc = 0;
  } else {
    rc = got == 0 ? ZYNTAX_EAGAIN : ZYNTAX_ECLOSED;
  }
  zx_unlock(&ch->lock);
  zx_wakes_run(&wakes);
  return rc;
}

zyntax_poll zyntax_sender_poll_send(zyntax_sender *tx, const zyntax_waker *waker,
                                    const void *item, int *result) {
  if (tx == NULL || waker == NULL || item == NULL || result == NULL) {
    int bad = zx_fail_code(__func__, ZYNTAX_EINVAL); /* recorded even without result */
    if (result) *result = bad;
    return ZYNTAX_READY;
  }
  int rc = send_once(tx, waker, item);
  if (rc == ZYNTAX_EAGAIN) return ZYNTAX_PENDING;
  *result = rc;
  return ZYNTAX_READY;
}

void zyntax_sender_cancel_send(zyntax_sender *tx) {
  if (tx == NULL) {
    zx_fail_code(__func__, ZYNTAX_EINVAL);
    return;
  }
  zx_wakes wakes = ZX_WAKES_INIT;
  zx_lock(&tx->ch->lock);
  zx_waitq_cancel(&tx->ch->slots, &tx->wait, &wakes);
  zx_unlock(&tx->ch->lock);
  zx_wakes_run(&wakes);
}

int zyntax_sender_try_send(zyntax_sender *tx, const void *item) {
  if (tx == NULL || item == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  return send_once(tx, NULL, item);
}

typedef struct blocking_send {
  zyntax_sender *tx;
  const void *item;
  int result;
} blocking_send;

static zyntax_poll blocking_send_poll(void *ctx, const zyntax_waker *waker) {
  blocking_send *b = ctx;
  return zyntax_sender_poll_send(b->tx, waker, b->item, &b->result);
}

int zyntax_sender_send_blocking(zyntax_sender *tx, const void *item) {
  if (tx == NULL || item == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  blocking_send b = {tx, item, 0};
  int rc = zx_park_until_ready(blocking_send_poll, &b, __func__);
  return rc != 0 ? rc : b.result;
}

void zyntax_sender_drop(zyntax_sender *tx) {
  if (tx == NULL) return;
  channel *ch = tx->ch;
  zx_wakes wakes = ZX_WAKES_INIT;
  zx_lock(&ch->lock);
  zx_waitq_cancel(&ch->slots, &tx->wait, &wakes);
  int last = --ch->senders == 0;
  if (last) zx_wakes_add(&wakes, &ch->rx_waker); /* it sees the close */
  int free_it = last && !ch->rx_alive;
  zx_unlock(&ch->lock);
  zx_wakes_run(&wakes);
  free(tx);
  if (free_it) channel_free(ch);
}

/* One receive attempt; `waker` NULL means do not wait. */
static int recv_once(channel *ch, const zyntax_waker *waker, void *out) {
  zx_wakes wakes = ZX_WAKES_INIT;
  int rc = 0;
  zx_lock(&ch->lock);
  if (ch->len > 0) {
    memcpy(out, ch->ring + ch->head * ch->item_size, ch->item_size);
    if (++ch->head == ch->capacity) ch->head = 0;
    ch->len--;
    zx_waitq_release(&ch->slots, 1, &wakes);
  } else if (ch->senders == 0) {
    rc = ZYNTAX_ECLOSED;
  } else {
    rc = ZYNTAX_EAGAIN;
    if (waker) zyntax_waker_store(&ch->rx_waker, waker);
  }
  zx_unlock(&ch->lock);
  zx_wakes_run(&wakes);
  return rc;
}

zyntax_poll zyntax_receiver_poll_recv(zyntax_receiver *rx, const zyntax_waker *waker,
                                      void *out, int *result) {
  if (rx == NULL || waker == NULL || out == NULL || result == NULL) {
    int bad = zx_fail_code(__func__, ZYNTAX_EINVAL); /* recorded even without result */
    if (result) *result = bad;
    return ZYNTAX_READY;
  }
  int rc = recv_once(rx->ch, waker, out);
  if (rc == ZYNTAX_EAGAIN) return ZYNTAX_PENDING;
  *result = rc;
  return ZYNTAX_READY;
}

int zyntax_receiver_try_recv(zyntax_receiver *rx, void *out) {
  if (rx == NULL || out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  return recv_once(rx->ch, NULL, out);
}

typedef struct blocking_recv {
  zyntax_receiver *rx;
  void *out;
  int result;
} blocking_recv;

static zyntax_poll blocking_recv_poll(void *ctx, const zyntax_waker *waker) {
  blocking_recv *b = ctx;
  return zyntax_receiver_poll_recv(b->rx, waker, b->out, &b->result);
}

int zyntax_receiver_recv_blocking(zyntax_receiver *rx, void *out) {
  if (rx == NULL || out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  blocking_recv b = {rx, out, 0};
  int rc = zx_park_until_ready(blocking_recv_poll, &b, __func__);
  return rc != 0 ? rc : b.result;
}

void zyntax_receiver_drop(zyntax_receiver *rx) {
  if (rx == NULL) return;
  channel *ch = rx->ch;
  zx_wakes wakes = ZX_WAKES_INIT;
  zx_lock(&ch->lock);
  ch->rx_alive = 0;
  zx_waitq_close(&ch->slots, &wakes);
  zyntax_waker_drop(&ch->rx_waker);
  /* No send stores an item once rx_alive is 0, so the queue is ours. */
  size_t head = ch->head, len = ch->len;
  ch->len = 0;
  int free_it = ch->senders == 0;
  zx_unlock(&ch->lock);
  zx_wakes_run(&wakes);
  for (; len > 0; len--) { /* outside the lock: item_drop may use channels */
    if (ch->item_drop) ch->item_drop(ch->ring + head * ch->item_size, ch->item_drop_arg);
    if (++head == ch->capacity) head = 0;
  }
  free(rx);
  if (free_it) channel_free(ch);
}

/* ---- the receiver as a stream ---- */

typedef struct receiver_stream {
  zyntax_stream base;
  zyntax_receiver *rx;
} receiver_stream;

static zyntax_stream_poll receiver_stream_next(void *state, const zyntax_waker *waker,
                                               void *out) {
  receiver_stream *s = state;
  int rc = recv_once(s->rx->ch, waker, out);
  if (rc == ZYNTAX_EAGAIN) return ZYNTAX_STREAM_PENDING;
  if (rc == 0) return ZYNTAX_STREAM_ITEM;
  s->base.result = 0; /* closed and drained: a normal end */
  return ZYNTAX_STREAM_DONE;
}

static void receiver_stream_drop(void *state) {
  receiver_stream *s = state;
  zyntax_receiver_drop(s->rx);
  free(s);
}

static const zyntax_stream_vtable receiver_stream_vt = {receiver_stream_next,
                                                        receiver_stream_drop};

int zyntax_receiver_stream(zyntax_receiver *rx, zyntax_stream **out) {
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  *out = NULL;
  if (rx == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  receiver_stream *s = malloc(sizeof *s);
  if (s == NULL) return zx_fail_code(__func__, ZYNTAX_ENOMEM);
  s->base = (zyntax_stream){&receiver_stream_vt, ZYNTAX_NOT_FINISHED};
  s->rx = rx;
  *out = &s->base;
  return 0;
}
