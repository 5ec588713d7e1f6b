/* Reporting a lost wake (lost_wake.h): through the ZYNTAX_LOG channel,
 * the same "zyntax: " lines libzyntax writes to stderr when ZYNTAX_LOG=1.
 * The poll function is named as symname.h names it. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lost_wake.h"
#include "symname.h"

/* Poll functions already reported: each is named once per process, so a
 * program that parks thousands of tasks on the same bug (or on purpose,
 * waiting for cancel) logs one line, not thousands. Past the table's size
 * every report is written. */
#define REPORTED_MAX 64
static _Atomic(zyntax_poll_fn) reported[REPORTED_MAX];

/* Nonzero the first time `fn` is seen. */
static int first_report(zyntax_poll_fn fn) {
  for (int i = 0; i < REPORTED_MAX; i++) {
    zyntax_poll_fn seen = atomic_load_explicit(&reported[i], memory_order_acquire);
    if (seen == fn) return 0;
    if (seen == NULL) {
      zyntax_poll_fn none = NULL;
      if (atomic_compare_exchange_strong(&reported[i], &none, fn)) return 1;
      if (none == fn) return 0;
    }
  }
  return 1;
}

static int logging(void) {
  const char *log = secure_getenv("ZYNTAX_LOG");
  return log != NULL && strcmp(log, "1") == 0;
}

void zx_lost_wake_log(zyntax_poll_fn poll, int root, const void *task) {
  if (!logging() || !first_report(poll)) return;
  char name[512];
  zx_symbol_name(poll, name, sizeof name);
  fprintf(stderr,
          "zyntax: lost wake: poll function %s of %s %p returned PENDING "
          "without keeping a waker clone or queueing a wake; nothing can wake "
          "it again (only cancel or destroy end it; reported once per poll "
          "function)\n",
          name, root ? "block_on_future's root" : "task", task);
}

void zx_lost_wake_report(zx_exec *ex, zx_task *t) {
  zx_lost_wake_log(t->poll, t == ex->root, (const void *)t);
}
