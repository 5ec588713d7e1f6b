/* zx_sized_copy (src/abi/sized.h), the one helper behind every
 * size-prefixed struct, checked across versions no library has yet: a 1.0
 * caller's struct into a 1.1 library's (shorter into longer, the case the
 * channel once refused) and back, and a 1.1 caller against a 1.0 library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sized.h"
#include "zyntax/backend.h"

typedef struct opts_1_0 {
  size_t size;
  uint64_t a, b;
} opts_1_0;

typedef struct opts_1_1 {
  size_t size;
  uint64_t a, b;
  uint64_t c; /* appended in 1.1 */
} opts_1_1;

#define OPTS_SIZE_1_0 ZX_SIZE_THROUGH(opts_1_1, b)

/* A 1.1 library reading a 1.0 caller's options: a and b copied, c keeps
 * the library's default, the library's size field stays its own. */
static void older_caller_newer_library(void **state) {
  (void)state;
  opts_1_0 caller = {sizeof caller, 1, 2};
  opts_1_1 lib = {sizeof lib, 0, 0, 99};
  assert_int_equal(zx_sized_copy(&lib, &caller, OPTS_SIZE_1_0), 0);
  assert_int_equal(lib.size, sizeof lib);
  assert_int_equal(lib.a, 1);
  assert_int_equal(lib.b, 2);
  assert_int_equal(lib.c, 99);
  /* Output direction: the library's 1.1 stats into the 1.0 caller's. */
  opts_1_1 full = {sizeof full, 7, 8, 9};
  struct {
    opts_1_0 v;
    uint64_t guard;
  } out = {{sizeof out.v, 0, 0}, 0xfeed};
  assert_int_equal(zx_sized_copy(&out.v, &full, OPTS_SIZE_1_0), 0);
  assert_int_equal(out.v.a, 7);
  assert_int_equal(out.v.b, 8);
  assert_int_equal(out.guard, 0xfeed); /* past the caller's size: untouched */
  assert_int_equal(out.v.size, sizeof out.v);
}

/* A 1.0 library reading a 1.1 caller's options: c is not read. */
static void newer_caller_older_library(void **state) {
  (void)state;
  opts_1_1 caller = {sizeof caller, 1, 2, 3};
  opts_1_0 lib = {sizeof lib, 0, 0};
  assert_int_equal(zx_sized_copy(&lib, &caller, OPTS_SIZE_1_0), 0);
  assert_int_equal(lib.a, 1);
  assert_int_equal(lib.b, 2);
  assert_int_equal(lib.size, sizeof lib);
}

/* extern_override.c: compiled with its own ZYNTAX_EXTERN. */
const char *zyntax_abi_test_version(void);

static void extern_can_be_overridden(void **state) {
  (void)state;
  assert_string_equal(zyntax_abi_test_version(), ZYNTAX_VERSION_STRING);
}

/* ZYNTAX_BACKEND_HAS: how the loader tells an op absent - NULL, or past
 * the size an older table declares (an entry of a later minor). */
static void dummy_op(void) {}

static void optional_ops_past_the_size_are_absent(void **state) {
  (void)state;
  zyntax_task_ops ops;
  void (**entry)(void) = (void (**)(void))&ops.state;
  for (size_t i = 0; i < 5; i++) entry[i] = dummy_op;
  ops.size = sizeof ops;
  assert_true(ZYNTAX_BACKEND_HAS(&ops, join));
  ops.size = offsetof(zyntax_task_ops, join); /* an older table */
  assert_false(ZYNTAX_BACKEND_HAS(&ops, join));
  assert_true(ZYNTAX_BACKEND_HAS(&ops, release));
  ops.size = sizeof ops;
  ops.join = NULL; /* left out */
  assert_false(ZYNTAX_BACKEND_HAS(&ops, join));
  zyntax_backend be = {.size = ZYNTAX_BACKEND_SIZE_2_0, .poll_fd = NULL};
  assert_false(ZYNTAX_BACKEND_HAS(&be, poll_fd));
  assert_false(ZYNTAX_BACKEND_HAS(&be, runtime_create));
  assert_int_equal(ZYNTAX_TASK_OPS_SIZE_2_0, sizeof(zyntax_task_ops));
  assert_int_equal(ZYNTAX_FUTURE_OPS_SIZE_2_0, sizeof(zyntax_future_ops));
}

static void shorter_than_1_0_is_refused(void **state) {
  (void)state;
  opts_1_0 caller = {OPTS_SIZE_1_0 - 1, 1, 2};
  opts_1_1 lib = {sizeof lib, 0, 0, 99};
  assert_int_equal(zx_sized_copy(&lib, &caller, OPTS_SIZE_1_0), -1);
  assert_int_equal(lib.a, 0); /* nothing copied */
  caller.size = 0;
  assert_int_equal(zx_sized_copy(&lib, &caller, OPTS_SIZE_1_0), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(older_caller_newer_library),
      cmocka_unit_test(newer_caller_older_library),
      cmocka_unit_test(shorter_than_1_0_is_refused),
      cmocka_unit_test(optional_ops_past_the_size_are_absent),
      cmocka_unit_test(extern_can_be_overridden),
  };
  return cmocka_run_group_tests_name("abi", tests, NULL, NULL);
}
