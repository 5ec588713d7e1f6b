/* libFuzzer target: backend selection from arbitrary environment values.
 * Input: "RUNTIME\0RUNTIME_PATH\0REQUEST". Absolute paths are rebased into
 * a private scratch folder so the fuzzer explores the loader's logic, not
 * whatever shared objects the machine happens to have. Must never crash,
 * leak or overflow; every failure must carry a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zyntax/runtime.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[64];

static const char *rebase(const char *value, char *out, size_t cap) {
  if (value[0] != '/') return value;
  snprintf(out, cap, "%s%s", scratch, value);
  return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (scratch[0] == '\0') {
    snprintf(scratch, sizeof scratch, "/tmp/zyntax-fuzz-XXXXXX");
    if (mkdtemp(scratch) == NULL) abort();
  }
  char input[4096];
  size_t n = size < sizeof input - 3 ? size : sizeof input - 3;
  memcpy(input, data, n);
  memset(input + n, 0, 3);
  const char *runtime = input;
  const char *path = runtime + strlen(runtime) + 1;
  const char *request = path + strlen(path) + 1;
  if (request >= input + n + 3) request = "";

  char a[8192], b[8192], c[8192];
  setenv("ZYNTAX_RUNTIME", rebase(runtime, a, sizeof a), 1);
  setenv("ZYNTAX_RUNTIME_PATH", rebase(path, b, sizeof b), 1);
  zyntax_backend_info *info = malloc(sizeof *info);
  if (info == NULL) return 0;
  info->size = sizeof *info;
  int rc = zyntax_backend_probe(request[0] ? rebase(request, c, sizeof c) : NULL, info);
  if (rc != 0 && (info->message[0] == '\0' || zyntax_last_error()->code != rc)) abort();
  if (rc == 0 && info->name[0] == '\0') abort();
  free(info);
  return 0;
}
