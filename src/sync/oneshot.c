/* The oneshot: a channel of one slot whose only sender sends at most once.
 * The handles are the channel's own, under their oneshot names. */
#include "shared.h"

int zyntax_oneshot_create(const zyntax_channel_options *opts,
                          zyntax_oneshot_sender **tx, zyntax_oneshot_receiver **rx) {
  return zx_channel_create(opts, 1, (zyntax_sender **)tx, (zyntax_receiver **)rx,
                           __func__);
}

int zyntax_oneshot_send(zyntax_oneshot_sender *tx, const void *item) {
  if (tx == NULL || item == NULL) {
    zyntax_sender_drop((zyntax_sender *)tx);
    return zx_fail_code(__func__, ZYNTAX_EINVAL);
  }
  /* The slot is free: this is the only sender and it sends once. */
  int rc = zyntax_sender_try_send((zyntax_sender *)tx, item);
  zyntax_sender_drop((zyntax_sender *)tx);
  return rc;
}

void zyntax_oneshot_sender_drop(zyntax_oneshot_sender *tx) {
  zyntax_sender_drop((zyntax_sender *)tx);
}

zyntax_poll zyntax_oneshot_poll_recv(zyntax_oneshot_receiver *rx,
                                     const zyntax_waker *waker, void *out, int *result) {
  return zyntax_receiver_poll_recv((zyntax_receiver *)rx, waker, out, result);
}

void zyntax_oneshot_receiver_drop(zyntax_oneshot_receiver *rx) {
  zyntax_receiver_drop((zyntax_receiver *)rx);
}
