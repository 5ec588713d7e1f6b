/* Reporting a lost wake (lost_wake.h): through the ZYNTAX_LOG channel,
 * the same "zyntax: " lines libzyntax writes to stderr when ZYNTAX_LOG=1.
 * The poll function is named by its symbol when the dynamic symbol table
 * has it, else by object file and offset (for addr2line). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lost_wake.h"

static int logging(void) {
  const char *log = secure_getenv("ZYNTAX_LOG");
  return log != NULL && strcmp(log, "1") == 0;
}

static void name_function(zyntax_poll_fn fn, char *buf, size_t size) {
  void *addr;
  memcpy(&addr, &fn, sizeof addr); /* a code address, for dladdr only */
  Dl_info info;
  if (dladdr(addr, &info) == 0 || info.dli_fname == NULL)
    snprintf(buf, size, "%p", addr);
  else if (info.dli_sname != NULL)
    snprintf(buf, size, "%s (%p, %s)", info.dli_sname, addr, info.dli_fname);
  else
    snprintf(buf, size, "%p (%s+0x%lx)", addr, info.dli_fname,
             (unsigned long)((char *)addr - (char *)info.dli_fbase));
}

void zx_lost_wake_report(zx_exec *ex, zx_task *t) {
  /* A wake from another thread may have landed after the poll published
   * its state: it sets the state before it drops its clone, so the state
   * read now shows it. */
  uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
  if (s & (ZX_SCHEDULED | ZX_NOTIFIED | ZX_COMPLETE | ZX_CANCEL)) return;
  if (!logging()) return;
  char name[512];
  name_function(t->poll, name, sizeof name);
  fprintf(stderr,
          "zyntax: lost wake: poll function %s of %s %p returned PENDING "
          "without keeping a waker clone or queueing a wake; nothing can wake "
          "it again (only cancel or destroy end it)\n",
          name, t == ex->root ? "block_on_future's root" : "task", (void *)t);
}
