#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

zyntax_runtime *test_runtime(void) {
  zyntax_runtime *rt = zyntax_runtime_create();
  if (rt == NULL) fail_msg("no runtime: %s", zyntax_last_error()->message);
  return rt;
}

zyntax_runtime *test_runtime_of(const char *backend, uint32_t workers) {
  zyntax_runtime_options o = ZYNTAX_RUNTIME_OPTIONS_INIT;
  o.backend = backend;
  o.worker_threads = workers;
  zyntax_runtime *rt;
  int rc = zyntax_runtime_create_with(&o, &rt);
  if (rc == ZYNTAX_ENOBACKEND) {
    print_message("skipping: backend '%s' is not built here: %s\n", backend,
                  zyntax_last_error()->message);
    return NULL;
  }
  if (rc != 0) fail_msg("'%s' runtime: %s", backend, zyntax_last_error()->message);
  return rt;
}
