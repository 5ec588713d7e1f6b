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

/* A yield future polled from another runtime's task completes with
 * ZYNTAX_EFOREIGN, as every runtime future does, and is not woken. */
typedef struct yield_poller {
  zyntax_future *f;
  int polls;
} yield_poller;

static zyntax_poll poll_yield(void *state, const zyntax_waker *waker) {
  yield_poller *y = state;
  y->polls++;
  return zyntax_future_poll(y->f, waker);
}

static void yield_of_another_runtime_is_foreign(void **state) {
  (void)state;
  zyntax_runtime *a = new_runtime(), *b = new_runtime();
  yield_poller y = {zyntax_yield_now(a), 0};
  assert_non_null(y.f);
  assert_int_equal(zyntax_runtime_block_on_future(b, &y, poll_yield), 0);
  assert_int_equal(y.polls, 1);
  assert_int_equal(zyntax_future_result(y.f), ZYNTAX_EFOREIGN);
  zyntax_future_drop(y.f);
  /* Its own runtime's task: PENDING once, then READY with 0. */
  y = (yield_poller){zyntax_yield_now(a), 0};
  assert_int_equal(zyntax_runtime_block_on_future(a, &y, poll_yield), 0);
  assert_int_equal(y.polls, 2);
  assert_int_equal(zyntax_future_result(y.f), 0);
  zyntax_future_drop(y.f);
  end_runtime(a);
  end_runtime(b);
}

/* A NULL handle given to a function that does not end a handle records
 * ZYNTAX_EINVAL, also where the function returns nothing (design.md). */
static void record_another_error(void) {
  zyntax_backend_info info = {.size = sizeof info};
  assert_int_equal(zyntax_backend_probe("no-such-backend", &info), ZYNTAX_ENOBACKEND);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_ENOBACKEND);
}

static void null_handles_record_einval(void **state) {
  (void)state;
#define EXPECT_EINVAL_RECORDED(call)                            \
  do {                                                          \
    record_another_error();                                     \
    call;                                                       \
    assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL); \
  } while (0)
  EXPECT_EINVAL_RECORDED(assert_string_equal(zyntax_runtime_backend_name(NULL), ""));
  EXPECT_EINVAL_RECORDED(assert_string_equal(zyntax_runtime_backend_version(NULL), ""));
  EXPECT_EINVAL_RECORDED(zyntax_notify_one(NULL));
  EXPECT_EINVAL_RECORDED(zyntax_notify_all(NULL));
  EXPECT_EINVAL_RECORDED(zyntax_semaphore_release(NULL, 1));
  EXPECT_EINVAL_RECORDED(zyntax_semaphore_close(NULL));
  EXPECT_EINVAL_RECORDED(zyntax_sender_cancel_send(NULL));
  EXPECT_EINVAL_RECORDED(assert_null(zyntax_task_state(NULL)));
  EXPECT_EINVAL_RECORDED(assert_null(zyntax_future_state(NULL)));
  EXPECT_EINVAL_RECORDED(assert_null(zyntax_future_child(NULL, 0)));
#undef EXPECT_EINVAL_RECORDED
}

/* zyntax_waker_store with a NULL or empty waker empties the slot (dropping
 * what it held) instead of dereferencing NULL; a NULL slot is a no-op. */
static atomic_int store_drops;
static zyntax_waker counting_clone(const void *data);
static void counting_drop(const void *data) {
  (void)data;
  atomic_fetch_add(&store_drops, 1);
}
static void counting_wake(const void *data) { counting_drop(data); }
static void counting_wake_by_ref(const void *data) { (void)data; }
static const zyntax_waker_vtable counting_vt = {counting_clone, counting_wake,
                                                counting_wake_by_ref, counting_drop};
static zyntax_waker counting_clone(const void *data) {
  return (zyntax_waker){data, &counting_vt};
}

static void waker_store_with_null(void **state) {
  (void)state;
  zyntax_waker w = {NULL, &counting_vt};
  zyntax_waker slot = ZYNTAX_WAKER_EMPTY;
  zyntax_waker_store(&slot, &w);
  assert_ptr_equal(slot.vtable, &counting_vt);
  zyntax_waker_store(&slot, NULL);
  assert_null(slot.vtable);
  assert_int_equal(atomic_load(&store_drops), 1);
  zyntax_waker_store(&slot, NULL); /* empty stays empty */
  assert_null(slot.vtable);
  zyntax_waker_store(NULL, &w);
  zyntax_waker_store(NULL, NULL);
  assert_false(zyntax_waker_will_wake(NULL, &w));
  assert_int_equal(atomic_load(&store_drops), 1);
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
    cmocka_unit_test(yield_of_another_runtime_is_foreign),
    cmocka_unit_test(null_handles_record_einval),
    cmocka_unit_test(waker_store_with_null),
};
const size_t error_count = GROUP_SIZE(error_tests);
