/* libFuzzer target: plugin validation. The first bytes become a backend
 * table's version and size fields and choose which strings and entries are
 * present; the whole input also becomes a file offered as a plugin. The
 * loader must refuse every bad table and file with a message, never crash.
 * (A table's pointers are the plugin's own code once it is loaded, so they
 * are never garbage here: only present or NULL.) */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "plugin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int dummy_create(const zyntax_backend_host *h, const zyntax_runtime_options *o,
                        zyntax_backend_runtime **out, zyntax_error *e) {
  (void)h, (void)o, (void)out, (void)e;
  return ZYNTAX_EBACKEND;
}

/* Op tables whose sizes come from the input: bits 21-22 pick the task
 * table's, bits 23-24 the future table's (too small, 2.0, longer). */
static zyntax_task_ops fuzz_task_ops;
static zyntax_future_ops fuzz_future_ops;
static const zyntax_future_ops *fuzz_future_list[] = {&fuzz_future_ops, NULL};

static zyntax_poll dummy_poll(zyntax_future *f, const zyntax_waker *w) {
  (void)f, (void)w;
  return ZYNTAX_READY;
}

static void dummy_drop(zyntax_future *f) { (void)f; }

static size_t pick_size(unsigned two_bits, size_t v2_0) {
  return two_bits == 0 ? v2_0 - 1 : two_bits == 1 ? v2_0 : v2_0 + 8 * two_bits;
}

static void fuzz_op_tables(zyntax_backend *be, uint64_t bits) {
  void (**entry)(void) = (void (**)(void))&fuzz_task_ops.state;
  for (size_t i = 0; i < 5; i++) entry[i] = (void (*)(void))dummy_create;
  fuzz_task_ops.size = pick_size((bits >> 21) & 3, ZYNTAX_TASK_OPS_SIZE_2_0);
  fuzz_future_ops.poll = dummy_poll;
  fuzz_future_ops.drop = (bits & 1u << 25) ? NULL : dummy_drop;
  fuzz_future_ops.size = pick_size((bits >> 23) & 3, ZYNTAX_FUTURE_OPS_SIZE_2_0);
  be->task_ops = &fuzz_task_ops;
  be->future_ops = fuzz_future_list;
}

static void fuzz_table(const uint8_t *data, size_t size) {
  zyntax_backend be;
  memset(&be, 0, sizeof be);
  uint8_t head[24] = {0};
  memcpy(head, data, size < sizeof head ? size : sizeof head);
  memcpy(&be.abi_major, head, 4);
  memcpy(&be.abi_minor, head + 4, 4);
  memcpy(&be.size, head + 8, 8);
  uint64_t bits;
  memcpy(&bits, head + 16, 8);
  be.name = (bits & 1) ? "fuzz" : (bits & 2) ? "" : NULL;
  be.version = (bits & 4) ? "1.0" : NULL;
  void (**entry)(void) = (void (**)(void))&be.runtime_create;
  size_t entries = (sizeof be - offsetof(zyntax_backend, runtime_create)) / sizeof *entry;
  for (size_t i = 0; i < entries; i++)
    if (!(bits & (8u << i))) entry[i] = (void (*)(void))dummy_create;
  fuzz_op_tables(&be, bits);
  const zyntax_backend *out = NULL;
  zyntax_error err = {0, ""};
  int rc = zx_plugin_validate(&be, "fuzz table", (bits & 1u << 20) ? "fuzz" : NULL, &out, &err);
  if (rc != 0 && err.message[0] == '\0') abort();
  if (rc == 0 && (out != &be || be.abi_major != ZYNTAX_BACKEND_ABI_MAJOR ||
                  be.size < ZYNTAX_BACKEND_SIZE_2_0 ||
                  be.task_ops->size < ZYNTAX_TASK_OPS_SIZE_2_0 ||
                  be.future_ops[0]->size < ZYNTAX_FUTURE_OPS_SIZE_2_0))
    abort();
}

static void fuzz_file(const uint8_t *data, size_t size) {
  static char dir[64];
  if (dir[0] == '\0') {
    snprintf(dir, sizeof dir, "/tmp/zyntax-fuzz-XXXXXX");
    if (mkdtemp(dir) == NULL) abort();
  }
  char path[128];
  snprintf(path, sizeof path, "%s/libzyntax-backend-fuzz.so", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) abort();
  /* A long input with the ELF magic would make this a fuzzer of glibc's
   * dlopen; keep such files to a truncated header. */
  size_t n = (size >= 4 && memcmp(data, "\x7f" "ELF", 4) == 0 && size > 52) ? 52 : size;
  if (write(fd, data, n) != (ssize_t)n) abort();
  close(fd);
  const zyntax_backend *out = NULL;
  zyntax_error err = {0, ""};
  int rc = zx_plugin_load(path, "fuzz", &out, &err);
  if (rc == 0 || err.message[0] == '\0') abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_table(data, size);
  fuzz_file(data, size);
  return 0;
}
