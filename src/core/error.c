/* Error codes, their names and texts, and the per-thread last error. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "internal.h"

static _Thread_local zyntax_error last_error;

const char *zyntax_strerror(int code) {
  switch (code) {
  case ZYNTAX_OK:
    return "success";
#define ZYNTAX_STRERROR_CASE_(name, value, text) \
  case ZYNTAX_##name:                            \
    return text;
    ZYNTAX_ERRNO_MAP(ZYNTAX_STRERROR_CASE_)
#undef ZYNTAX_STRERROR_CASE_
  default:
    return "unknown error";
  }
}

const char *zyntax_err_name(int code) {
  switch (code) {
  case ZYNTAX_OK:
    return "ZYNTAX_OK";
#define ZYNTAX_ERRNAME_CASE_(name, value, text) \
  case ZYNTAX_##name:                           \
    return "ZYNTAX_" #name;
    ZYNTAX_ERRNO_MAP(ZYNTAX_ERRNAME_CASE_)
#undef ZYNTAX_ERRNAME_CASE_
  default:
    return "ZYNTAX_E?";
  }
}

const zyntax_error *zyntax_last_error(void) { return &last_error; }

void zx_log(const char *fmt, ...) {
  const char *log = zx_getenv("ZYNTAX_LOG");
  if (log == NULL || strcmp(log, "1") != 0) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("zyntax: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int zx_fail(zyntax_error *out, int code, const char *fmt, ...) {
  last_error.code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error.message, sizeof last_error.message, fmt, ap);
  va_end(ap);
  if (out != NULL && out != &last_error) *out = last_error;
  zx_log("%s (%s)", last_error.message, zyntax_err_name(code));
  return code;
}

int zx_fail_code(const char *func, int code) {
  return zx_fail(NULL, code, "%s: %s", func, zyntax_strerror(code));
}
