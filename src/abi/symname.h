/* Naming a function in a log line, written once for every side that logs
 * one (the executor's lost-wake report, libzyntax's slow-poll report):
 * its symbol when the dynamic symbol table has it (-rdynamic for a
 * program's own functions), else its object file and offset (for
 * addr2line), else the bare address. Header-only; not installed; needs
 * _GNU_SOURCE (dladdr) and -ldl where libc does not have it. */
#ifndef ZYNTAX_ABI_SYMNAME_H
#define ZYNTAX_ABI_SYMNAME_H

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "zyntax/future.h"

/* Writes the name of `fn` into buf[size] (NUL-terminated, truncated). */
static inline void zx_symbol_name(zyntax_poll_fn fn, char *buf, size_t size) {
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

#endif /* ZYNTAX_ABI_SYMNAME_H */
