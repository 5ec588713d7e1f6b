/* The ABI rule for size-prefixed structs, from the caller's side: a program
 * compiled against the 1.0 layout of a struct (written out here, frozen,
 * not taken from the headers) keeps working with every 1.x library, and a
 * program compiled against a later, longer layout works with this one.
 * The library accepts any size from the 1.0 size up, reads and writes only
 * the fields both sides know, and refuses a smaller size. */
#include <string.h>

#include "conformance.h"

/* ---- the 1.0 layouts, as a program built against 1.0 declares them ---- */

typedef struct runtime_options_1_0 {
  size_t size;
  const char *backend;
  uint32_t worker_threads, blocking_threads, flags;
} runtime_options_1_0;

typedef struct channel_options_1_0 {
  size_t size;
  size_t item_size, capacity;
  zyntax_item_drop_fn item_drop;
  void *item_drop_arg;
} channel_options_1_0;

typedef struct stats_1_0 {
  size_t size;
  uint64_t counters[9];
} stats_1_0;

/* Where a layout's last field ends (its size, less any tail padding). */
#define END_OF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/* Today's headers must still begin with these layouts. */
#define SAME_FIELD(a, b, f) \
  _Static_assert(offsetof(a, f) == offsetof(b, f), #a "." #f " moved")
SAME_FIELD(zyntax_runtime_options, runtime_options_1_0, flags);
SAME_FIELD(zyntax_channel_options, channel_options_1_0, item_drop_arg);
_Static_assert(offsetof(zyntax_stats, blocking_jobs) ==
                   offsetof(stats_1_0, counters) + 8 * sizeof(uint64_t),
               "zyntax_stats.blocking_jobs moved");

/* ---- a later layout: one field appended ---- */

typedef struct channel_options_next {
  channel_options_1_0 v1_0;
  uint64_t appended; /* a field this library does not know */
} channel_options_next;

/* Today's stats, then a field this library does not know. */
typedef struct stats_next {
  zyntax_stats now;
  uint64_t appended;
} stats_next;

typedef struct runtime_options_next {
  runtime_options_1_0 v1_0;
  uint64_t appended;
} runtime_options_next;

static void channel_round_trip(const zyntax_channel_options *o) {
  zyntax_sender *tx;
  zyntax_receiver *rx;
  assert_int_equal(zyntax_channel_create(o, &tx, &rx), 0);
  uint64_t in = 42, out = 0;
  assert_int_equal(zyntax_sender_try_send(tx, &in), 0);
  assert_int_equal(zyntax_sender_try_send(tx, &in), 0); /* capacity 2 was read */
  assert_int_equal(zyntax_sender_try_send(tx, &in), ZYNTAX_EAGAIN);
  assert_int_equal(zyntax_receiver_try_recv(rx, &out), 0);
  assert_int_equal(out, 42);
  zyntax_sender_drop(tx);
  zyntax_receiver_drop(rx);
}

static void channel_options_of_every_layout(void **state) {
  (void)state;
  channel_options_1_0 old = {sizeof old, sizeof(uint64_t), 2, NULL, NULL};
  channel_round_trip((const zyntax_channel_options *)&old);
  channel_options_next next = {{sizeof next, sizeof(uint64_t), 2, NULL, NULL}, ~0ull};
  channel_round_trip((const zyntax_channel_options *)&next);

  zyntax_oneshot_sender *otx;
  zyntax_oneshot_receiver *orx;
  assert_int_equal(zyntax_oneshot_create((const zyntax_channel_options *)&old, &otx, &orx), 0);
  zyntax_oneshot_sender_drop(otx);
  zyntax_oneshot_receiver_drop(orx);

  zyntax_sender *tx;
  zyntax_receiver *rx;
  old.size = END_OF(channel_options_1_0, item_drop_arg) - 1; /* shorter than 1.0 */
  assert_int_equal(zyntax_channel_create((const zyntax_channel_options *)&old, &tx, &rx),
                   ZYNTAX_EINVAL);
  assert_int_equal(zyntax_oneshot_create((const zyntax_channel_options *)&old, &otx, &orx),
                   ZYNTAX_EINVAL);
}

static void runtime_options_of_every_layout(void **state) {
  (void)state;
  runtime_options_1_0 old = {sizeof old, NULL, 0, 0, 0};
  zyntax_runtime *rt;
  assert_int_equal(zyntax_runtime_create_with((const zyntax_runtime_options *)&old, &rt), 0);
  end_runtime(rt);
  runtime_options_next next = {{sizeof next, NULL, 0, 0, 0}, ~0ull};
  assert_int_equal(zyntax_runtime_create_with((const zyntax_runtime_options *)&next, &rt), 0);
  end_runtime(rt);
  old.size = END_OF(runtime_options_1_0, flags) - 1;
  assert_int_equal(zyntax_runtime_create_with((const zyntax_runtime_options *)&old, &rt),
                   ZYNTAX_EINVAL);
  assert_null(rt);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
}

static zyntax_poll ready(void *state, const zyntax_waker *waker) {
  (void)state, (void)waker;
  return ZYNTAX_READY;
}

/* Output structs: fields past the caller's size are never written. */
static void stats_of_every_layout(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  assert_int_equal(zyntax_runtime_block_on_future(rt, NULL, ready), 0);
  struct {
    stats_1_0 v1_0;
    uint64_t after; /* where 1.0 ends: never written for a 1.0 caller */
  } old_in = {.v1_0.size = sizeof(stats_1_0), .after = 777};
  assert_int_equal(zyntax_runtime_stats(rt, (zyntax_stats *)&old_in), 0);
  assert_true(old_in.v1_0.counters[4] >= 1); /* polls */
  assert_int_equal(old_in.v1_0.size, sizeof(stats_1_0));
  assert_int_equal(old_in.after, 777);
  stats_next next = {.now.size = sizeof next, .appended = 12345};
  assert_int_equal(zyntax_runtime_stats(rt, (zyntax_stats *)&next), 0);
  assert_true(next.now.polls >= 1);
  assert_int_equal(next.appended, 12345); /* unknown to this library: untouched */
  stats_1_0 old = {.size = sizeof old};
  old.size = END_OF(stats_1_0, counters) - 1;
  assert_int_equal(zyntax_runtime_stats(rt, (zyntax_stats *)&old), ZYNTAX_EINVAL);
  end_runtime(rt);
}

static void backend_info_of_every_layout(void **state) {
  (void)state;
  struct {
    zyntax_backend_info v1_0;
    uint64_t appended;
  } next;
  memset(&next, 0, sizeof next);
  next.v1_0.size = sizeof next;
  next.appended = 777;
  assert_int_equal(zyntax_backend_probe(NULL, (zyntax_backend_info *)&next), 0);
  assert_true(strlen(next.v1_0.name) > 0);
  assert_int_equal(next.appended, 777);
  zyntax_backend_info old = {.size = END_OF(zyntax_backend_info, message) - 1};
  assert_int_equal(zyntax_backend_probe(NULL, &old), ZYNTAX_EINVAL);
}

TEST_GROUP(abi_tests) = {
    cmocka_unit_test(channel_options_of_every_layout),
    cmocka_unit_test(runtime_options_of_every_layout),
    cmocka_unit_test(stats_of_every_layout),
    cmocka_unit_test(backend_info_of_every_layout),
};
const size_t abi_count = GROUP_SIZE(abi_tests);
