/* Every conformance group, listed once (like libuv's test-list.h):
 *   X(name on the command line, the file's test array, its count)
 * Adding a group takes two edits: a new file in this folder defining
 * TEST_GROUP(array) and `const size_t count = GROUP_SIZE(array);`, and one
 * line here. The build compiles every .c file of the folder. */
#ifndef ZYNTAX_TESTS_CONFORMANCE_GROUPS_H
#define ZYNTAX_TESTS_CONFORMANCE_GROUPS_H

#define CONFORMANCE_GROUPS(X)                          \
  X(basic, basic_tests, basic_count)                   \
  X(wakers, waker_tests, waker_count)                  \
  X(timers, timer_tests, timer_count)                  \
  X(io, io_tests, io_count)                            \
  X(blocking, blocking_tests, blocking_count)          \
  X(tasks, task_tests, task_count)                     \
  X(spawn, spawn_tests, spawn_count)                   \
  X(errors, error_tests, error_count)                  \
  X(channels, channel_tests, channel_count)            \
  X(sync, sync_tests, sync_count)                      \
  X(streams, stream_tests, stream_count)               \
  X(combinators, combinator_tests, combinator_count)   \
  X(closures, closure_tests, closure_count)            \
  X(abi, abi_tests, abi_count)                         \
  X(lifetime, lifetime_tests, lifetime_count)          \
  X(edges, edge_tests, edge_count)                     \
  X(fdreuse, fdreuse_tests, fdreuse_count)             \
  X(fdwatch, fdwatch_tests, fdwatch_count)             \
  X(fairness, fairness_tests, fairness_count)

#endif
