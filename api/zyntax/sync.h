/** @file
 * Zyntax Runtime - channels and synchronisation built only on wakers:
 * a bounded multi-producer single-consumer channel, a oneshot, a notify and
 * a semaphore.
 *
 * They belong to no runtime: every function is thread-safe, works the same
 * on every backend, and connects tasks of different runtimes (a uv task may
 * send to a tokio task) and plain threads (the *_blocking functions). Each
 * object is guarded by one short mutex (a notify with at most one waiter
 * takes none: one atomic word holds its state); nothing spins (but for the
 * few instructions a notify_one already waking a notified record takes to
 * let go of it) and nothing is allocated per message: a channel's items live in a ring allocated when it
 * is created, and a waiting operation's record lives in its handle (a
 * sender, a notified waiter, an acquire), so a task that keeps its handle in
 * its state struct waits without allocating. A waker clone is taken only
 * when an operation actually waits, and kept by the handle for its next
 * wait while the same task waits (dropped with the handle). A grant wakes
 * the waiter by reference under the object's mutex (the notify's lock-free
 * grant: while it owns the record it claimed).
 *
 * Poll functions follow the future protocol: called from a task's poll with
 * its borrowed waker, they return ZYNTAX_PENDING (the waker will be woken)
 * or ZYNTAX_READY with `*result` set. One task at a time may use a given
 * handle; clone a sender per producer.
 */
#ifndef ZYNTAX_SYNC_H
#define ZYNTAX_SYNC_H

#include <stddef.h>

#include "zyntax/future.h"
#include "zyntax/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Bounded MPSC channel                                                      */

/** Releases one item still queued when a channel is closed. `item` points to
 * the item's bytes (item_size of them), `arg` is the options' item_drop_arg. */
typedef void (*zyntax_item_drop_fn)(void *item, void *arg);

/** Options for zyntax_channel_create() and zyntax_oneshot_create(). Set
 * `size` to sizeof(zyntax_channel_options) (ZYNTAX_CHANNEL_OPTIONS_INIT
 * does). */
typedef struct zyntax_channel_options {
  size_t size;
  /** Bytes per item (> 0). Items are copied in and out by value: send a
   * pointer to move ownership of something larger. */
  size_t item_size;
  /** How many items may be queued (> 0); a send waits while it is full.
   * Ignored by zyntax_oneshot_create(). */
  size_t capacity;
  /** Called once for every item that was sent but never received (the
   * receiver was dropped, or the channel ended with items queued). May be
   * NULL. Runs on the thread that drops the last handle able to receive. */
  zyntax_item_drop_fn item_drop;
  /** Passed to item_drop. */
  void *item_drop_arg;
} zyntax_channel_options;

/** Initialiser for zyntax_channel_options. */
#define ZYNTAX_CHANNEL_OPTIONS_INIT {sizeof(zyntax_channel_options), 0, 0, NULL, NULL}

/** The sending end of a channel. Opaque. Each handle carries the record of
 * one send in progress: one task uses a handle at a time. */
typedef struct zyntax_sender zyntax_sender;

/** The receiving end of a channel. Opaque. */
typedef struct zyntax_receiver zyntax_receiver;

/** Creates a bounded channel; on success `*tx` and `*rx` are owned by the
 * caller (give back with zyntax_sender_drop / zyntax_receiver_drop).
 * Returns 0, ZYNTAX_EINVAL (NULL argument, `size` below the 1.0 layout,
 * item_size or capacity 0 or their product overflowing), ZYNTAX_ENOMEM.
 * Any larger `size` works (docs/abi.md). Thread-safe. */
ZYNTAX_EXTERN int zyntax_channel_create(const zyntax_channel_options *opts,
                                        zyntax_sender **tx,
                                        zyntax_receiver **rx);

/** A new sender for the same channel (another producer). Returns 0 with
 * it in `*out`, owned by the caller (zyntax_sender_drop), or a negative
 * code with `*out` set to NULL: ZYNTAX_EINVAL (NULL `tx` or `out`),
 * ZYNTAX_ENOMEM. Thread-safe. */
ZYNTAX_EXTERN int zyntax_sender_clone(zyntax_sender *tx, zyntax_sender **out);

/** Sends the item at `item` (item_size bytes). READY with `*result` 0: the
 * bytes were copied into the channel, which now owns the item. READY with
 * ZYNTAX_ECLOSED: the receiver is gone and the item is still the caller's.
 * PENDING: the channel is full; the task is woken when a slot was reserved
 * for it (waiting senders are served in FIFO order), and must poll again
 * with the same item. ZYNTAX_EINVAL in `*result` for NULL arguments (READY;
 * with `result` NULL too, ZYNTAX_EINVAL is recorded for zyntax_last_error()
 * and nothing is sent). Any thread, from the one task using this sender
 * handle. */
ZYNTAX_EXTERN zyntax_poll zyntax_sender_poll_send(zyntax_sender *tx,
                                                  const zyntax_waker *waker,
                                                  const void *item,
                                                  int *result);

/** Abandons a send that returned PENDING (for example when a select chose
 * another branch); a slot already reserved for it passes to the next
 * waiting sender. A no-op when no send is waiting; ZYNTAX_EINVAL recorded
 * for NULL. Thread-safe. */
ZYNTAX_EXTERN void zyntax_sender_cancel_send(zyntax_sender *tx);

/** Sends without waiting: 0, ZYNTAX_EAGAIN (full), ZYNTAX_ECLOSED (receiver
 * gone; the item stays the caller's), ZYNTAX_EINVAL. Thread-safe. */
ZYNTAX_EXTERN int zyntax_sender_try_send(zyntax_sender *tx, const void *item);

/** Sends, blocking the calling thread while the channel is full (a plain
 * thread producing for tasks). 0, ZYNTAX_ECLOSED, ZYNTAX_EINVAL, or
 * ZYNTAX_EREENTRANT when called on a thread that runs poll functions (it
 * would block the runtime), ZYNTAX_ENOMEM. */
ZYNTAX_EXTERN int zyntax_sender_send_blocking(zyntax_sender *tx,
                                              const void *item);

/** Releases a sender (cancelling its waiting send, if any). When the last
 * sender goes, the receiver gets the queued items, then ZYNTAX_ECLOSED.
 * NULL is a no-op. Thread-safe. */
ZYNTAX_EXTERN void zyntax_sender_drop(zyntax_sender *tx);

/** Receives the oldest item into `out` (item_size bytes). READY with
 * `*result` 0: `out` holds the item, now owned by the caller. READY with
 * ZYNTAX_ECLOSED: every sender is gone and nothing is queued. PENDING: the
 * task is woken by the next send or by the last sender's drop.
 * ZYNTAX_EINVAL in `*result` for NULL arguments (READY; with `result` NULL
 * too, ZYNTAX_EINVAL is recorded for zyntax_last_error() and nothing is
 * received). Any thread, from the one task using the receiver. */
ZYNTAX_EXTERN zyntax_poll zyntax_receiver_poll_recv(zyntax_receiver *rx,
                                                    const zyntax_waker *waker,
                                                    void *out, int *result);

/** Receives without waiting: 0, ZYNTAX_EAGAIN (empty), ZYNTAX_ECLOSED,
 * ZYNTAX_EINVAL. Thread-safe. */
ZYNTAX_EXTERN int zyntax_receiver_try_recv(zyntax_receiver *rx, void *out);

/** Receives, blocking the calling thread while the channel is empty. 0 with
 * the item in `out` (now the caller's), or the errors and thread rule of
 * zyntax_sender_send_blocking(). */
ZYNTAX_EXTERN int zyntax_receiver_recv_blocking(zyntax_receiver *rx,
                                                void *out);

/** Releases the receiver: waiting and later sends fail with ZYNTAX_ECLOSED,
 * and every queued item goes through item_drop, on this thread. NULL is a
 * no-op. Thread-safe. */
ZYNTAX_EXTERN void zyntax_receiver_drop(zyntax_receiver *rx);

/** Turns the receiver into a stream whose items are the channel's items
 * (item_size bytes each) and which is DONE (result 0) when every sender is
 * gone and the queue is drained. Returns 0 with the stream in `*out`,
 * owned by the caller (zyntax_stream_drop), and `rx` consumed (dropping the
 * stream drops it); or a negative code with `*out` set to NULL and `rx`
 * still the caller's: ZYNTAX_EINVAL (NULL `rx` or `out`), ZYNTAX_ENOMEM.
 * Any thread; the stream may be polled from any runtime's task (one at a
 * time). */
ZYNTAX_EXTERN int zyntax_receiver_stream(zyntax_receiver *rx,
                                         zyntax_stream **out);

/* ------------------------------------------------------------------------ */
/* Oneshot                                                                   */

/** The sending end of a oneshot: sends one item, once. Opaque. */
typedef struct zyntax_oneshot_sender zyntax_oneshot_sender;

/** The receiving end of a oneshot. Opaque. */
typedef struct zyntax_oneshot_receiver zyntax_oneshot_receiver;

/** Creates a oneshot for one item of opts->item_size bytes (capacity is
 * ignored; item_drop releases an item sent but never received). Returns 0,
 * ZYNTAX_EINVAL, ZYNTAX_ENOMEM. Thread-safe. */
ZYNTAX_EXTERN int zyntax_oneshot_create(const zyntax_channel_options *opts,
                                        zyntax_oneshot_sender **tx,
                                        zyntax_oneshot_receiver **rx);

/** Sends the item and consumes `tx` in every case. 0, or ZYNTAX_ECLOSED
 * (receiver gone; the item stays the caller's), ZYNTAX_EINVAL (NULL).
 * Never waits. Thread-safe. */
ZYNTAX_EXTERN int zyntax_oneshot_send(zyntax_oneshot_sender *tx,
                                      const void *item);

/** Releases the sender without sending: the receiver gets ZYNTAX_ECLOSED.
 * NULL is a no-op. Thread-safe. */
ZYNTAX_EXTERN void zyntax_oneshot_sender_drop(zyntax_oneshot_sender *tx);

/** READY with `*result` 0 and the item in `out` (now the caller's), or
 * ZYNTAX_ECLOSED (the sender was dropped unsent, or the item was already
 * received); PENDING until then. ZYNTAX_EINVAL in `*result` for NULL
 * arguments. Any thread, from the one task using the receiver. */
ZYNTAX_EXTERN zyntax_poll zyntax_oneshot_poll_recv(zyntax_oneshot_receiver *rx,
                                                   const zyntax_waker *waker,
                                                   void *out, int *result);

/** Releases the receiver; an item sent and not received goes through
 * item_drop. NULL is a no-op. Thread-safe. */
ZYNTAX_EXTERN void zyntax_oneshot_receiver_drop(zyntax_oneshot_receiver *rx);

/* ------------------------------------------------------------------------ */
/* Semaphore (an async mutex is a semaphore of one permit)                   */

/** A counting semaphore. Opaque; reference-counted with its acquires. */
typedef struct zyntax_semaphore zyntax_semaphore;

/** A reusable acquire operation on one semaphore: the waiting record of one
 * task. Opaque. */
typedef struct zyntax_acquire zyntax_acquire;

/** Creates a semaphore holding `permits` permits. Returns 0 with it in
 * `*out`, owned by the caller (zyntax_semaphore_drop), or a negative code
 * with `*out` set to NULL: ZYNTAX_EINVAL (NULL `out`), ZYNTAX_ENOMEM.
 * Thread-safe. */
ZYNTAX_EXTERN int zyntax_semaphore_create(size_t permits,
                                          zyntax_semaphore **out);

/** Takes one permit without waiting: 0, ZYNTAX_EAGAIN (none free, or
 * acquirers are waiting: no barging), ZYNTAX_ECLOSED, ZYNTAX_EINVAL.
 * Thread-safe. */
ZYNTAX_EXTERN int zyntax_semaphore_try_acquire(zyntax_semaphore *sem);

/** Adds `n` permits (gives back permits taken, or grows the count); they
 * go to waiting acquirers first, in FIFO order. ZYNTAX_EINVAL recorded for
 * NULL. An addition that would take the free permits past SIZE_MAX is
 * refused whole: nothing is added and ZYNTAX_EINVAL is recorded for
 * zyntax_last_error(). Thread-safe. */
ZYNTAX_EXTERN void zyntax_semaphore_add_permits(zyntax_semaphore *sem, size_t n);

/** Closes the semaphore: waiting and later acquires fail with
 * ZYNTAX_ECLOSED. ZYNTAX_EINVAL recorded for NULL. Thread-safe. */
ZYNTAX_EXTERN void zyntax_semaphore_close(zyntax_semaphore *sem);

/** Releases the caller's reference; the memory goes with the last acquire.
 * NULL is a no-op. Thread-safe. */
ZYNTAX_EXTERN void zyntax_semaphore_drop(zyntax_semaphore *sem);

/** A new acquire operation (holds a reference to `sem`). Returns 0 with it
 * in `*out`, owned by the caller (zyntax_acquire_drop), or a negative code
 * with `*out` set to NULL: ZYNTAX_EINVAL (NULL `sem` or `out`),
 * ZYNTAX_ENOMEM. Thread-safe. */
ZYNTAX_EXTERN int zyntax_acquire_create(zyntax_semaphore *sem,
                                        zyntax_acquire **out);

/** Acquires one permit: READY with `*result` 0 (the caller now holds a
 * permit; give it back with zyntax_semaphore_add_permits) or ZYNTAX_ECLOSED;
 * PENDING while none is free. The operation is reusable after READY.
 * ZYNTAX_EINVAL in `*result` for NULL arguments. Any thread, from the one
 * task using this operation. */
ZYNTAX_EXTERN zyntax_poll zyntax_acquire_poll(zyntax_acquire *op,
                                              const zyntax_waker *waker,
                                              int *result);

/** Drops the operation; a waiting acquire is cancelled, and a permit
 * handed to it but not yet taken by a poll passes on. NULL is a no-op.
 * Any thread, once no task polls it. */
ZYNTAX_EXTERN void zyntax_acquire_drop(zyntax_acquire *op);

/* ------------------------------------------------------------------------ */
/* Notify                                                                    */

/** An event tasks wait for. Opaque; reference-counted with its waiters. */
typedef struct zyntax_notify zyntax_notify;

/** A reusable waiting record on one notify: one task's wait. Opaque. */
typedef struct zyntax_notified zyntax_notified;

/** Creates a notify. Returns 0 with it in `*out`, owned by the caller
 * (zyntax_notify_drop), or a negative code with `*out` set to NULL:
 * ZYNTAX_EINVAL (NULL `out`), ZYNTAX_ENOMEM. Thread-safe. */
ZYNTAX_EXTERN int zyntax_notify_create(zyntax_notify **out);

/** Wakes the longest-waiting waiter; with none waiting, stores one permit
 * (at most one) that the next wait consumes at once. ZYNTAX_EINVAL
 * recorded for NULL. Thread-safe. */
ZYNTAX_EXTERN void zyntax_notify_one(zyntax_notify *n);

/** Wakes every waiter waiting now (polled and PENDING); stores no permit.
 * ZYNTAX_EINVAL recorded for NULL. Thread-safe. */
ZYNTAX_EXTERN void zyntax_notify_all(zyntax_notify *n);

/** Releases the caller's reference; the memory goes with the last waiting
 * record. NULL is a no-op. Thread-safe. */
ZYNTAX_EXTERN void zyntax_notify_drop(zyntax_notify *n);

/** A new waiting record (holds a reference to `n`). Returns 0 with it in
 * `*out`, owned by the caller (zyntax_notified_drop), or a negative code
 * with `*out` set to NULL: ZYNTAX_EINVAL (NULL `n` or `out`),
 * ZYNTAX_ENOMEM. Thread-safe. */
ZYNTAX_EXTERN int zyntax_notified_create(zyntax_notify *n,
                                         zyntax_notified **out);

/** READY with `*result` 0 once notified (consuming a stored permit or a
 * notify_one / notify_all aimed at this wait); PENDING until then.
 * Reusable: a poll after READY starts a new wait. NULL `wt` or `waker`:
 * READY with ZYNTAX_EINVAL in `*result`; NULL `result`: READY; nothing is
 * awaited and ZYNTAX_EINVAL is recorded for zyntax_last_error() in each
 * case. Any thread, from the one task using this record. */
ZYNTAX_EXTERN zyntax_poll zyntax_notified_poll(zyntax_notified *wt,
                                               const zyntax_waker *waker,
                                               int *result);

/** Drops the record; a notify_one handed to it but not yet seen passes to
 * the next waiter. NULL is a no-op. Any thread, once no task polls it. */
ZYNTAX_EXTERN void zyntax_notified_drop(zyntax_notified *wt);

#ifdef __cplusplus
}
#endif

#endif /* ZYNTAX_SYNC_H */
