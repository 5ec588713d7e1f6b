/* Backend plugins that are wrong in one way each, for the loader tests.
 * FIXTURE selects the defect. Those that need a working table borrow it
 * from a real plugin (REAL_PLUGIN, dlopened), then change one thing. */
#include <dlfcn.h>
#include <string.h>

#include <zyntax/backend.h>

#define EXPORT __attribute__((visibility("default")))

/* The order of the list in CMakeLists.txt (preprocessor values, not enum). */
#define NO_SYMBOL 0
#define RETURNS_NULL 1
#define WRONG_MAJOR 2
#define TOO_SMALL 3
#define NO_NAME 4
#define MISSING_ENTRY 5
#define NEWER_MINOR 6
#define NO_HOST_LOOP 7
#define HALF_HOST_LOOP 8
#define TASK_OPS_TOO_SMALL 9
#define FUTURE_OPS_NO_DROP 10
#define BROKEN_BLOCKING 11
#define HALF_WATCH_POLL 12

/* A table from a later ABI 2.x: more entries after the 2.0 ones. */
typedef struct newer_table {
  zyntax_backend v2_0;
  void (*added_in_2_1)(void);
  void (*added_in_2_2)(void);
} newer_table;

/* An op table from a later minor, one entry longer. */
typedef struct newer_task_ops {
  zyntax_task_ops v2_0;
  void (*added_in_2_1)(void);
} newer_task_ops;

const zyntax_backend *zyntax_backend_entry(void);
const zyntax_backend *zyntax_backend_entyr(void);

#if FIXTURE == NO_SYMBOL
EXPORT const zyntax_backend *zyntax_backend_entyr(void) { return NULL; } /* a typo */
#elif FIXTURE == RETURNS_NULL
EXPORT const zyntax_backend *zyntax_backend_entry(void) { return NULL; }
#else
static void unused_entry(void) {}

/* A backend that loads but breaks the contract: no blocking job ever
 * starts (for the conformance kit's own test). */
__attribute__((unused)) static int no_blocking(zyntax_backend_runtime *rt, zyntax_blocking_fn fn, void *arg,
                       zyntax_future **out) {
  (void)rt, (void)fn, (void)arg, (void)out;
  return ZYNTAX_ENOMEM;
}

/* A poll in place that is never reached: its plugin is refused. */
__attribute__((unused)) static int no_watch_poll(zyntax_backend_fd_watch *w, unsigned events,
                                                 const zyntax_waker *waker) {
  (void)w, (void)events, (void)waker;
  return ZYNTAX_EBACKEND;
}

static const zyntax_backend *real_table(void) {
  void *lib = dlopen(REAL_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) return NULL;
  zyntax_backend_entry_fn entry;
  *(void **)&entry = dlsym(lib, ZYNTAX_BACKEND_ENTRY_SYMBOL);
  return entry != NULL ? entry() : NULL;
}

EXPORT const zyntax_backend *zyntax_backend_entry(void) {
  static newer_table table;
  /* Copies of the real op tables, changed by some fixtures. The real tasks
   * and futures keep pointing at the real ones: only validation sees
   * these. */
  static newer_task_ops task_ops;
  static zyntax_future_ops future_ops;
  static const zyntax_future_ops *future_list[] = {&future_ops, NULL};
  const zyntax_backend *real = real_table();
  if (real == NULL) return NULL;
  table.v2_0 = *real;
  table.added_in_2_1 = table.added_in_2_2 = unused_entry;
  task_ops.v2_0 = *real->task_ops;
  task_ops.added_in_2_1 = unused_entry;
  future_ops = *real->future_ops[0];
  (void)task_ops, (void)future_list; /* each used by some fixtures only */
#if FIXTURE == WRONG_MAJOR
  table.v2_0.abi_major = ZYNTAX_BACKEND_ABI_MAJOR + 1;
#elif FIXTURE == TOO_SMALL
  table.v2_0.size = offsetof(zyntax_backend, spawn);
#elif FIXTURE == NO_NAME
  table.v2_0.name = NULL;
#elif FIXTURE == MISSING_ENTRY
  table.v2_0.blocking = NULL;
#elif FIXTURE == NEWER_MINOR
  /* A later minor: a longer table, and a longer task op table. */
  table.v2_0.abi_minor = ZYNTAX_BACKEND_ABI_MINOR + 2;
  table.v2_0.size = sizeof table;
  task_ops.v2_0.size = sizeof task_ops;
  table.v2_0.task_ops = &task_ops.v2_0;
#elif FIXTURE == NO_HOST_LOOP
  /* The optional host-loop entries left NULL, as Tokio does. */
  table.v2_0.poll_fd = NULL;
  table.v2_0.next_deadline = NULL;
  table.v2_0.run_nowait = NULL;
#elif FIXTURE == HALF_HOST_LOOP
  table.v2_0.run_nowait = NULL;
#elif FIXTURE == TASK_OPS_TOO_SMALL
  /* Compiled against a table without its size: one entry short. */
  task_ops.v2_0.size = offsetof(zyntax_task_ops, join);
  table.v2_0.task_ops = &task_ops.v2_0;
#elif FIXTURE == BROKEN_BLOCKING
  table.v2_0.blocking = no_blocking;
#elif FIXTURE == HALF_WATCH_POLL
  /* ABI 2.3's poll in place without its free. */
  table.v2_0.fd_watch_poll = no_watch_poll;
  table.v2_0.fd_watch_free = NULL;
#elif FIXTURE == FUTURE_OPS_NO_DROP
  future_ops.drop = NULL;
  table.v2_0.future_ops = future_list;
#else
#error unknown FIXTURE
#endif
  return &table.v2_0;
}
#endif
