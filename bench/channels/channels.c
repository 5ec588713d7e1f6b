/* Channel send+recv cost per message, on every backend built, beside
 * Tokio's own mpsc from the same run (the native-mpsc baseline, when it was
 * built). Two shapes, as native-mpsc measures them:
 *   tasks          a producer task and a consumer task on one runtime
 *   thread->task   a plain thread (send_blocking) feeding a consumer task
 * Usage: zyntax-bench-channels [messages] [capacity]
 * Prints `zyntax <backend> <case> <messages> <ns/msg>` lines. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <zyntax/runtime.h>

typedef struct bench {
  zyntax_sender *tx;
  zyntax_receiver *rx;
  uint64_t n, next, sum;
} bench;

static zyntax_poll produce(void *state, const zyntax_waker *waker) {
  bench *b = state;
  for (; b->next < b->n; b->next++) {
    int rc;
    if (zyntax_sender_poll_send(b->tx, waker, &b->next, &rc) == ZYNTAX_PENDING)
      return ZYNTAX_PENDING;
  }
  zyntax_sender_drop(b->tx);
  b->tx = NULL;
  return ZYNTAX_READY;
}

static zyntax_poll consume(void *state, const zyntax_waker *waker) {
  bench *b = state;
  for (;;) {
    uint64_t v;
    int rc;
    if (zyntax_receiver_poll_recv(b->rx, waker, &v, &rc) == ZYNTAX_PENDING)
      return ZYNTAX_PENDING;
    if (rc != 0) return ZYNTAX_READY;
    b->sum += v;
  }
}

static void *thread_produce(void *arg) {
  bench *b = arg;
  for (uint64_t i = 0; i < b->n; i++)
    if (zyntax_sender_send_blocking(b->tx, &i) != 0) abort();
  zyntax_sender_drop(b->tx);
  return NULL;
}

static double run(zyntax_runtime *rt, uint64_t n, size_t cap, int from_thread) {
  zyntax_channel_options o = ZYNTAX_CHANNEL_OPTIONS_INIT;
  o.item_size = sizeof(uint64_t);
  o.capacity = cap;
  bench b = {NULL, NULL, n, 0, 0};
  if (zyntax_channel_create(&o, &b.tx, &b.rx) != 0) abort();
  uint64_t start = zyntax_now();
  pthread_t th;
  zyntax_task *p = NULL;
  if (from_thread)
    pthread_create(&th, NULL, thread_produce, &b);
  else
    p = zyntax_runtime_spawn(rt, &b, produce);
  zyntax_task *c = zyntax_runtime_spawn(rt, &b, consume);
  if (zyntax_runtime_block_on(rt, c) != 0) abort();
  if (from_thread) pthread_join(th, NULL);
  else if (zyntax_runtime_block_on(rt, p) != 0) abort();
  double ns = (double)(zyntax_now() - start) / (double)n;
  if (b.sum != n * (n - 1) / 2) {
    fprintf(stderr, "lost messages: sum %llu\n", (unsigned long long)b.sum);
    abort();
  }
  zyntax_task_drop(c);
  zyntax_task_drop(p);
  zyntax_receiver_drop(b.rx);
  return ns;
}

int main(int argc, char **argv) {
  uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
  size_t cap = argc > 2 ? strtoull(argv[2], NULL, 10) : 128;
  struct { const char *backend; uint32_t workers; const char *label; } modes[] = {
      {"uv", 0, "uv"}, {"ev", 0, "ev"}, {"tokio", 1, "tokio/current-thread"},
      {"tokio", 0, "tokio/multi-thread"}};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    zyntax_runtime_options opt = ZYNTAX_RUNTIME_OPTIONS_INIT;
    opt.backend = modes[i].backend;
    opt.worker_threads = modes[i].workers;
    zyntax_runtime *rt;
    zyntax_runtime_create_with(&opt, &rt);
    if (rt == NULL) {
      printf("zyntax %s: skipped (%s)\n", modes[i].label, zyntax_last_error()->message);
      continue;
    }
    run(rt, n / 10, cap, 0); /* warm-up */
    printf("zyntax %s tasks %llu %.1f\n", modes[i].label, (unsigned long long)n,
           run(rt, n, cap, 0));
    printf("zyntax %s thread->task %llu %.1f\n", modes[i].label, (unsigned long long)n,
           run(rt, n, cap, 1));
    fflush(stdout);
    zyntax_runtime_destroy(rt);
  }
#ifdef ZYNTAX_NATIVE_MPSC
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "'%s' %llu %zu", ZYNTAX_NATIVE_MPSC, (unsigned long long)n, cap);
  if (system(cmd) != 0) fprintf(stderr, "native-mpsc failed\n");
#else
  printf("native-mpsc: not built (needs cargo)\n");
#endif
  return 0;
}
