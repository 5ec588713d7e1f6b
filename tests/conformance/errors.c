/* Bad input everywhere gets its documented code, recorded for
 * zyntax_last_error(); nothing crashes. */
#include <string.h>

#include "conformance.h"

static zyntax_poll ready(void *state, const zyntax_waker *waker) {
  (void)state, (void)waker;
  return ZYNTAX_READY;
}

static void null_arguments(void **state) {
  (void)state;
  assert_null(zyntax_runtime_spawn(NULL, NULL, ready));
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  zyntax_runtime *rt = new_runtime();
  assert_null(zyntax_runtime_spawn(rt, NULL, NULL));
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  assert_null(zyntax_runtime_spawn_future(rt, NULL, NULL));
  zyntax_future_vtable no_poll = {NULL, NULL};
  assert_null(zyntax_runtime_spawn_future(rt, NULL, &no_poll));
  assert_int_equal(zyntax_runtime_block_on(rt, NULL), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_block_on(NULL, NULL), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_block_on_future(rt, NULL, NULL), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_run(NULL), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_destroy(NULL), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_task_cancel(NULL), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_task_release(NULL), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_task_status(NULL), ZYNTAX_EINVAL);
  assert_null(zyntax_task_state(NULL));
  assert_null(zyntax_task_join(NULL));
  assert_null(zyntax_sleep(NULL, 1));
  assert_null(zyntax_yield_now(NULL));
  assert_null(zyntax_blocking(rt, NULL, NULL));
  assert_int_equal(zyntax_future_poll(NULL, NULL), ZYNTAX_READY);
  assert_int_equal(zyntax_future_result(NULL), ZYNTAX_EINVAL);
  zyntax_future_drop(NULL);
  assert_int_equal(zyntax_runtime_stats(rt, NULL), ZYNTAX_EINVAL);
  zyntax_stats tiny = {.size = 1};
  assert_int_equal(zyntax_runtime_stats(rt, &tiny), ZYNTAX_EINVAL);
  assert_string_equal(zyntax_runtime_backend_name(NULL), "");
  end_runtime(rt);
}

static void task_of_another_runtime(void **state) {
  (void)state;
  zyntax_runtime *a = new_runtime(), *b = new_runtime();
  zyntax_task *t = zyntax_runtime_spawn(a, NULL, ready);
  assert_int_equal(zyntax_runtime_block_on(b, t), ZYNTAX_EFOREIGN);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EFOREIGN);
  assert_int_equal(zyntax_runtime_block_on(a, t), 0);
  zyntax_task_release(t);
  end_runtime(a);
  end_runtime(b);
}

typedef struct inner {
  int block_on, run;
} inner;

static zyntax_poll reenter(void *state, const zyntax_waker *waker) {
  (void)waker;
  inner *i = state;
  i->block_on = zyntax_runtime_block_on_future(zyntax_runtime_current(), NULL, ready);
  i->run = zyntax_runtime_run(zyntax_runtime_current());
  return ZYNTAX_READY;
}

static void reentrant_block_on(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  inner i = {1, 1};
  zyntax_task *t = zyntax_runtime_spawn(rt, &i, reenter);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
  assert_int_equal(i.block_on, ZYNTAX_EREENTRANT);
  assert_int_equal(i.run, ZYNTAX_EREENTRANT);
  zyntax_task_release(t);
  end_runtime(rt);
}

static void options_are_checked(void **state) {
  (void)state;
  zyntax_error err;
  zyntax_runtime_options o = ZYNTAX_RUNTIME_OPTIONS_INIT;
  o.size = 4; /* too small */
  assert_null(zyntax_runtime_create_with(&o, &err));
  assert_int_equal(err.code, ZYNTAX_EINVAL);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  o = (zyntax_runtime_options)ZYNTAX_RUNTIME_OPTIONS_INIT;
  o.flags = 0x80;
  assert_null(zyntax_runtime_create_with(&o, &err));
  assert_int_equal(err.code, ZYNTAX_EINVAL);
  o = (zyntax_runtime_options)ZYNTAX_RUNTIME_OPTIONS_INIT;
  o.backend = "definitely-not-a-backend";
  assert_null(zyntax_runtime_create_with(&o, &err));
  assert_int_equal(err.code, ZYNTAX_ENOBACKEND);
  assert_non_null(strstr(err.message, "available:"));
}

static void error_names_and_texts(void **state) {
  (void)state;
  for (int code = ZYNTAX_EAGAIN; code <= 0; code++) {
    assert_true(strlen(zyntax_strerror(code)) > 0);
    assert_true(strncmp(zyntax_err_name(code), "ZYNTAX_", 7) == 0);
    assert_string_not_equal(zyntax_strerror(code), "unknown error");
  }
  assert_string_equal(zyntax_err_name(ZYNTAX_EINVAL), "ZYNTAX_EINVAL");
  assert_string_equal(zyntax_strerror(-12345), "unknown error");
  assert_string_equal(zyntax_err_name(12345), "ZYNTAX_E?");
  assert_int_equal(zyntax_version(), ZYNTAX_VERSION_HEX);
  assert_string_equal(zyntax_version_string(), ZYNTAX_VERSION_STRING);
}

TEST_GROUP(error_tests) = {
    cmocka_unit_test(null_arguments),
    cmocka_unit_test(task_of_another_runtime),
    cmocka_unit_test(reentrant_block_on),
    cmocka_unit_test(options_are_checked),
    cmocka_unit_test(error_names_and_texts),
};
const size_t error_count = GROUP_SIZE(error_tests);
