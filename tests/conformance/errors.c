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
  zyntax_task *t;
  assert_int_equal(zyntax_runtime_spawn_future(rt, NULL, NULL, &t), ZYNTAX_EINVAL);
  zyntax_future_vtable no_poll = {NULL, NULL};
  assert_int_equal(zyntax_runtime_spawn_future(rt, NULL, &no_poll, &t), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_block_on(rt, NULL), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_block_on(NULL, NULL), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_block_on_future(rt, NULL, NULL), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_run(NULL), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_destroy(NULL), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_task_cancel(NULL), ZYNTAX_EINVAL);
  zyntax_task_drop(NULL); /* a no-op, like free(NULL) */
  assert_int_equal(zyntax_task_status(NULL), ZYNTAX_EINVAL);
  assert_null(zyntax_task_state(NULL));
  zyntax_future *f;
  assert_int_equal(zyntax_task_join_future(NULL, &f), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_sleep_future(NULL, 1, &f), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_yield_future(NULL, &f), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_blocking_future(rt, NULL, NULL, &f), ZYNTAX_EINVAL);
  int rc;
  assert_int_equal(zyntax_future_poll(NULL, NULL, &rc), ZYNTAX_READY);
  assert_int_equal(rc, ZYNTAX_EINVAL);
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
  zyntax_task_drop(t);
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
  zyntax_task_drop(t);
  end_runtime(rt);
}

static void options_are_checked(void **state) {
  (void)state;
  zyntax_runtime *rt;
  zyntax_runtime_options o = ZYNTAX_RUNTIME_OPTIONS_INIT;
  o.size = 4; /* too small */
  assert_int_equal(zyntax_runtime_create_with(&o, &rt), ZYNTAX_EINVAL);
  assert_null(rt);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  o = (zyntax_runtime_options)ZYNTAX_RUNTIME_OPTIONS_INIT;
  o.flags = 0x80;
  assert_int_equal(zyntax_runtime_create_with(&o, &rt), ZYNTAX_EINVAL);
  assert_null(rt);
  o = (zyntax_runtime_options)ZYNTAX_RUNTIME_OPTIONS_INIT;
  o.backend = "definitely-not-a-backend";
  assert_int_equal(zyntax_runtime_create_with(&o, &rt), ZYNTAX_ENOBACKEND);
  assert_null(rt);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_ENOBACKEND);
  assert_non_null(strstr(zyntax_last_error()->message, "available:"));
}

/* A yield future polled from another runtime's task completes with
 * ZYNTAX_EFOREIGN, as every runtime future does, and is not woken. */

typedef struct yield_poller {
  zyntax_future *f;
  int polls, result;
} yield_poller;

static zyntax_poll poll_yield(void *state, const zyntax_waker *waker) {
  yield_poller *y = state;
  y->polls++;
  return zyntax_future_poll(y->f, waker, &y->result);
}

static void yield_of_another_runtime_is_foreign(void **state) {
  (void)state;
  zyntax_runtime *a = new_runtime(), *b = new_runtime();
  yield_poller y = {NULL, 0, -99};
  assert_int_equal(zyntax_yield_future(a, &y.f), 0);
  assert_int_equal(zyntax_runtime_block_on_future(b, &y, poll_yield), 0);
  assert_int_equal(y.polls, 1);
  assert_int_equal(y.result, ZYNTAX_EFOREIGN);
  assert_int_equal(zyntax_future_result(y.f), ZYNTAX_EFOREIGN);
  zyntax_future_drop(y.f);
  /* Its own runtime's task: PENDING once, then READY with 0. */
  y = (yield_poller){NULL, 0, -99};
  assert_int_equal(zyntax_yield_future(a, &y.f), 0);
  assert_int_equal(zyntax_runtime_block_on_future(a, &y, poll_yield), 0);
  assert_int_equal(y.polls, 2);
  assert_int_equal(y.result, 0);
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
  EXPECT_EINVAL_RECORDED(zyntax_semaphore_add_permits(NULL, 1));
  EXPECT_EINVAL_RECORDED(zyntax_semaphore_close(NULL));
  EXPECT_EINVAL_RECORDED(zyntax_sender_cancel_send(NULL));
  EXPECT_EINVAL_RECORDED(assert_null(zyntax_task_state(NULL)));
  EXPECT_EINVAL_RECORDED(assert_null(zyntax_future_state(NULL)));
  EXPECT_EINVAL_RECORDED(assert_null(zyntax_future_child(NULL, 0)));
#undef EXPECT_EINVAL_RECORDED
}

/* The polls with a NULL handle: READY (a stream: DONE) with ZYNTAX_EINVAL
 * in *result; with a NULL `result`: READY (DONE) all the same. Recorded in
 * both cases, and nothing is polled. */
static void null_polls_write_and_record_einval(void **state) {
  (void)state;
  zyntax_waker noop = zyntax_waker_noop();
  uint64_t item = 0;
  int rc = -99;
  record_another_error();
  assert_int_equal(zyntax_future_poll(NULL, &noop, &rc), ZYNTAX_READY);
  assert_int_equal(rc, ZYNTAX_EINVAL);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  rc = -99;
  record_another_error();
  assert_int_equal(zyntax_notified_poll(NULL, &noop, &rc), ZYNTAX_READY);
  assert_int_equal(rc, ZYNTAX_EINVAL);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  rc = -99;
  record_another_error();
  assert_int_equal(zyntax_stream_poll_next(NULL, &noop, &item, &rc), ZYNTAX_STREAM_DONE);
  assert_int_equal(rc, ZYNTAX_EINVAL);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);

  /* NULL result pointers, on live handles that would otherwise be READY. */
  zyntax_runtime *rt = new_runtime();
  zyntax_future *f;
  assert_int_equal(zyntax_sleep_until_future(rt, 0, &f), 0);
  record_another_error();
  assert_int_equal(zyntax_future_poll(f, &noop, NULL), ZYNTAX_READY);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  assert_int_equal(zyntax_future_result(f), ZYNTAX_NOT_FINISHED); /* not polled */
  zyntax_future_drop(f);
  zyntax_notify *n;
  zyntax_notified *wt;
  assert_int_equal(zyntax_notify_create(&n), 0);
  assert_int_equal(zyntax_notified_create(n, &wt), 0);
  zyntax_notify_one(n);
  record_another_error();
  assert_int_equal(zyntax_notified_poll(wt, &noop, NULL), ZYNTAX_READY);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  record_another_error();
  assert_int_equal(zyntax_notified_poll(wt, NULL, &rc), ZYNTAX_READY); /* NULL waker */
  assert_int_equal(rc, ZYNTAX_EINVAL);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  zyntax_notified_drop(wt);
  zyntax_notify_drop(n);
  zyntax_channel_options o = ZYNTAX_CHANNEL_OPTIONS_INIT;
  o.item_size = sizeof item;
  o.capacity = 1;
  zyntax_sender *tx;
  zyntax_receiver *rx;
  zyntax_stream *s;
  assert_int_equal(zyntax_channel_create(&o, &tx, &rx), 0);
  assert_int_equal(zyntax_receiver_stream(rx, &s), 0);
  item = 5;
  assert_int_equal(zyntax_sender_try_send(tx, &item), 0);
  item = 0;
  record_another_error();
  assert_int_equal(zyntax_stream_poll_next(s, &noop, &item, NULL), ZYNTAX_STREAM_DONE);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  rc = -99;
  record_another_error();
  assert_int_equal(zyntax_stream_poll_next(s, &noop, NULL, &rc), ZYNTAX_STREAM_DONE);
  assert_int_equal(rc, ZYNTAX_EINVAL);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  /* The refused polls ended nothing: the item is still there. */
  assert_int_equal(zyntax_stream_result(s), ZYNTAX_NOT_FINISHED);
  assert_int_equal(zyntax_stream_poll_next(s, &noop, &item, &rc), ZYNTAX_STREAM_ITEM);
  assert_int_equal(rc, 0);
  assert_int_equal(item, 5);
  zyntax_sender_drop(tx);
  assert_int_equal(zyntax_stream_poll_next(s, &noop, &item, &rc), ZYNTAX_STREAM_DONE);
  assert_int_equal(rc, 0);
  zyntax_stream_drop(s);
  end_runtime(rt);
}

/* Every constructor with an out-parameter, given bad input: the error is
 * returned and recorded, and *out is NULL (it held a non-NULL value). A
 * NULL `out` is ZYNTAX_EINVAL too. */
static void failed_constructors_set_out_to_null(void **state) {
  (void)state;
  static int junk_target;
  void *const junk = &junk_target; /* any non-NULL value; never used */
#define EXPECT_OUT_NULL(out, want, call)                        \
  do {                                                          \
    record_another_error();                                     \
    (out) = junk;                                               \
    assert_int_equal((call), (want));                           \
    assert_null(out);                                           \
    assert_int_equal(zyntax_last_error()->code, (want));        \
  } while (0)
#define EXPECT_EINVAL(call)                                     \
  do {                                                          \
    record_another_error();                                     \
    assert_int_equal((call), ZYNTAX_EINVAL);                    \
    assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL); \
  } while (0)
  zyntax_runtime *rt = new_runtime(), *rt_out;
  zyntax_runtime_options opts = ZYNTAX_RUNTIME_OPTIONS_INIT;
  opts.backend = "definitely-not-a-backend";
  EXPECT_OUT_NULL(rt_out, ZYNTAX_ENOBACKEND, zyntax_runtime_create_with(&opts, &rt_out));
  EXPECT_EINVAL(zyntax_runtime_create_with(NULL, NULL));

  zyntax_task *t;
  zyntax_future_vtable no_poll = {NULL, NULL};
  EXPECT_OUT_NULL(t, ZYNTAX_EINVAL, zyntax_runtime_spawn_future(rt, NULL, &no_poll, &t));
  EXPECT_EINVAL(zyntax_runtime_spawn_future(rt, NULL, &counted_ready_vt, NULL));
  EXPECT_OUT_NULL(t, ZYNTAX_EINVAL,
                  zyntax_runtime_spawn_inplace(rt, &counted_ready_vt, 16, 3, NULL, NULL, &t));
  EXPECT_EINVAL(zyntax_runtime_spawn_inplace(rt, &counted_ready_vt, 16, 8, NULL, NULL, NULL));

  zyntax_future *f;
  EXPECT_OUT_NULL(f, ZYNTAX_EINVAL, zyntax_task_join_future(NULL, &f));
  EXPECT_OUT_NULL(f, ZYNTAX_EINVAL, zyntax_sleep_future(NULL, 1, &f));
  EXPECT_EINVAL(zyntax_sleep_future(rt, 1, NULL));
  EXPECT_OUT_NULL(f, ZYNTAX_EINVAL, zyntax_sleep_until_future(NULL, 1, &f));
  EXPECT_EINVAL(zyntax_sleep_until_future(rt, 1, NULL));
  EXPECT_OUT_NULL(f, ZYNTAX_EINVAL, zyntax_fd_wait_future(rt, -1, ZYNTAX_READABLE, &f));
  EXPECT_EINVAL(zyntax_fd_wait_future(rt, 0, ZYNTAX_READABLE, NULL));
  EXPECT_OUT_NULL(f, ZYNTAX_EINVAL, zyntax_yield_future(NULL, &f));
  EXPECT_EINVAL(zyntax_yield_future(rt, NULL));
  EXPECT_OUT_NULL(f, ZYNTAX_EINVAL, zyntax_blocking_future(rt, NULL, NULL, &f));
  EXPECT_OUT_NULL(f, ZYNTAX_EINVAL, zyntax_user_future(NULL, &no_poll, &f));
  EXPECT_OUT_NULL(f, ZYNTAX_EINVAL, zyntax_timeout_future(NULL, NULL, 1, &f));
  EXPECT_OUT_NULL(f, ZYNTAX_EINVAL, zyntax_select_future(NULL, 1, &f));
  EXPECT_OUT_NULL(f, ZYNTAX_EINVAL, zyntax_join_all_future(NULL, 1, &f));

  zyntax_stream *s;
  EXPECT_OUT_NULL(s, ZYNTAX_EINVAL, zyntax_interval_stream(rt, 0, &s));
  EXPECT_EINVAL(zyntax_interval_stream(rt, 1000, NULL));
  EXPECT_OUT_NULL(s, ZYNTAX_EINVAL, zyntax_fd_stream(rt, -1, 0, &s));
  EXPECT_EINVAL(zyntax_fd_stream(rt, 0, 0, NULL));
  EXPECT_OUT_NULL(s, ZYNTAX_EINVAL, zyntax_receiver_stream(NULL, &s));

  zyntax_sender *tx;
  zyntax_receiver *rx;
  zyntax_channel_options o = ZYNTAX_CHANNEL_OPTIONS_INIT;
  o.item_size = 1;
  o.capacity = 1;
  assert_int_equal(zyntax_channel_create(&o, &tx, &rx), 0);
  zyntax_sender *tx2;
  EXPECT_OUT_NULL(tx2, ZYNTAX_EINVAL, zyntax_sender_clone(NULL, &tx2));
  EXPECT_EINVAL(zyntax_sender_clone(tx, NULL));
  EXPECT_EINVAL(zyntax_receiver_stream(rx, NULL)); /* rx stays ours */
  zyntax_sender_drop(tx);
  zyntax_receiver_drop(rx);

  EXPECT_EINVAL(zyntax_semaphore_create(1, NULL));
  zyntax_acquire *op;
  EXPECT_OUT_NULL(op, ZYNTAX_EINVAL, zyntax_acquire_create(NULL, &op));
  zyntax_semaphore *sem;
  assert_int_equal(zyntax_semaphore_create(1, &sem), 0);
  EXPECT_EINVAL(zyntax_acquire_create(sem, NULL));
  zyntax_semaphore_drop(sem);
  EXPECT_EINVAL(zyntax_notify_create(NULL));
  zyntax_notified *wt;
  EXPECT_OUT_NULL(wt, ZYNTAX_EINVAL, zyntax_notified_create(NULL, &wt));
  zyntax_notify *n;
  assert_int_equal(zyntax_notify_create(&n), 0);
  EXPECT_EINVAL(zyntax_notified_create(n, NULL));
  zyntax_notify_drop(n);
#undef EXPECT_OUT_NULL
#undef EXPECT_EINVAL
  end_runtime(rt);
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
    cmocka_unit_test(null_polls_write_and_record_einval),
    cmocka_unit_test(failed_constructors_set_out_to_null),
    cmocka_unit_test(waker_store_with_null),
};
const size_t error_count = GROUP_SIZE(error_tests);
