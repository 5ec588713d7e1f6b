/* The loader refuses every wrong backend with an error that says which file,
 * which versions and what else was available - never a crash, never a
 * fallback, never a word on stderr unless ZYNTAX_LOG=1. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zyntax/backend.h>
#include <zyntax/runtime.h>

#define FIXTURE(name) FIXTURE_DIR "/lib" name ".so"

/* Creates a runtime for `request`, expecting failure with `code`; returns
 * the error message (static storage of this test). */
static const char *refused(const char *request, int code) {
  static zyntax_error err;
  zyntax_runtime_options opts = ZYNTAX_RUNTIME_OPTIONS_INIT;
  opts.backend = request;
  zyntax_runtime *rt;
  int rc = zyntax_runtime_create_with(&opts, &rt);
  if (rt != NULL) {
    zyntax_runtime_destroy(rt);
    fail_msg("'%s' was accepted", request);
  }
  assert_int_equal(rc, code);
  assert_int_equal(zyntax_last_error()->code, code);
  err = *zyntax_last_error(); /* kept: the next failure overwrites the thread's */
  return err.message;
}

#define assert_mentions(text, part)                                            \
  do {                                                                         \
    if (strstr((text), (part)) == NULL) fail_msg("'%s' lacks '%s'", (text), (part)); \
  } while (0)

static void skip_without_real_plugin(void) {
  if (REAL_PLUGIN[0] == '\0') skip();
}

static void unknown_name_lists_what_was_tried(void **state) {
  (void)state;
  const char *msg = refused("nope", ZYNTAX_ENOBACKEND);
  assert_mentions(msg, "'nope'");
  assert_mentions(msg, "libzyntax-backend-nope.so");
  assert_mentions(msg, "tried");
  assert_mentions(msg, "available");
}

static void unknown_name_from_the_environment_is_no_fallback(void **state) {
  (void)state;
  setenv("ZYNTAX_RUNTIME", "nope", 1);
  assert_null(zyntax_runtime_create());
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_ENOBACKEND);
  assert_mentions(zyntax_last_error()->message, "'nope'");
  unsetenv("ZYNTAX_RUNTIME");
}

static void names_that_are_not_names(void **state) {
  (void)state;
  assert_mentions(refused("u v", ZYNTAX_ENOBACKEND), "not a backend name");
  /* A relative path would load whatever the working folder holds. */
  assert_mentions(refused("../uv", ZYNTAX_EPERM), "only absolute paths");
  assert_mentions(refused("relative/path.so", ZYNTAX_EPERM), "only absolute paths");
}

static void missing_file(void **state) {
  (void)state;
  assert_mentions(refused("/nonexistent/libzyntax-backend-x.so", ZYNTAX_ENOBACKEND),
                  "/nonexistent/libzyntax-backend-x.so");
}

/* A temporary folder with one file of `len` bytes from `data`. */
static char *temp_file(char *dir, const char *name, const void *data, size_t len) {
  static char path[512];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  close(fd);
  return path;
}

static void remove_temp(char *dir, const char *file) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  unlink(path);
  rmdir(dir);
}

static void not_an_elf_file(void **state) {
  (void)state;
  char dir[] = "/tmp/zyntax-loader-XXXXXX";
  const char *text = "#!/bin/sh\necho not a plugin\n";
  char *path = temp_file(dir, "libzyntax-backend-junk.so", text, strlen(text));
  const char *msg = refused(path, ZYNTAX_EBADPLUGIN);
  assert_mentions(msg, path);
  assert_mentions(msg, "not an ELF");
  remove_temp(dir, "libzyntax-backend-junk.so");
}

static void truncated_elf_file(void **state) {
  (void)state;
  skip_without_real_plugin();
  unsigned char head[256];
  int fd = open(REAL_PLUGIN, O_RDONLY);
  assert_true(fd >= 0);
  assert_int_equal(read(fd, head, sizeof head), (ssize_t)sizeof head);
  close(fd);
  char dir[] = "/tmp/zyntax-loader-XXXXXX";
  char *path = temp_file(dir, "libzyntax-backend-cut.so", head, sizeof head);
  const char *msg = refused(path, ZYNTAX_EBADPLUGIN);
  assert_mentions(msg, path);
  assert_mentions(msg, "cannot be loaded");
  remove_temp(dir, "libzyntax-backend-cut.so");
}

static void no_entry_symbol(void **state) {
  (void)state;
  const char *msg = refused(FIXTURE("no_symbol"), ZYNTAX_EBADPLUGIN);
  assert_mentions(msg, FIXTURE("no_symbol"));
  assert_mentions(msg, "zyntax_backend_entry");
}

static void entry_returns_null(void **state) {
  (void)state;
  assert_mentions(refused(FIXTURE("returns_null"), ZYNTAX_EBADPLUGIN), "returned NULL");
}

static void wrong_abi_major(void **state) {
  (void)state;
  skip_without_real_plugin();
  char want[64];
  snprintf(want, sizeof want, "ABI %d.%d", ZYNTAX_BACKEND_ABI_MAJOR + 1,
           ZYNTAX_BACKEND_ABI_MINOR); /* the fixture keeps the real minor */
  const char *msg = refused(FIXTURE("wrong_major"), ZYNTAX_EABI);
  assert_mentions(msg, FIXTURE("wrong_major"));
  assert_mentions(msg, want);
  assert_mentions(msg, ZYNTAX_VERSION_STRING);
}

static void table_too_small(void **state) {
  (void)state;
  skip_without_real_plugin();
  assert_mentions(refused(FIXTURE("too_small"), ZYNTAX_EABI), "bytes");
}

static void no_name(void **state) {
  (void)state;
  skip_without_real_plugin();
  assert_mentions(refused(FIXTURE("no_name"), ZYNTAX_EBADPLUGIN), "no name");
}

static void missing_required_entry(void **state) {
  (void)state;
  skip_without_real_plugin();
  assert_mentions(refused(FIXTURE("missing_entry"), ZYNTAX_EBADPLUGIN), "'blocking'");
}

/* Optional entries come as a group: half of one is refused at load. */
static void half_an_optional_group(void **state) {
  (void)state;
  skip_without_real_plugin();
  const char *msg = refused(FIXTURE("half_host_loop"), ZYNTAX_EBADPLUGIN);
  assert_mentions(msg, FIXTURE("half_host_loop"));
  assert_mentions(msg, "all three or none");
  msg = refused(FIXTURE("half_watch_poll"), ZYNTAX_EBADPLUGIN);
  assert_mentions(msg, "fd_watch_poll, fd_watch_free (both or none");
}

/* The op tables carry their size too, checked at load like the table's,
 * with a message naming the plugin and the table. */
static void task_ops_too_small(void **state) {
  (void)state;
  skip_without_real_plugin();
  const char *msg = refused(FIXTURE("task_ops_too_small"), ZYNTAX_EABI);
  assert_mentions(msg, FIXTURE("task_ops_too_small"));
  assert_mentions(msg, "task_ops declares");
  assert_mentions(msg, "bytes");
}

static void future_ops_without_drop(void **state) {
  (void)state;
  skip_without_real_plugin();
  const char *msg = refused(FIXTURE("future_ops_no_drop"), ZYNTAX_EBADPLUGIN);
  assert_mentions(msg, FIXTURE("future_ops_no_drop"));
  assert_mentions(msg, "future_ops[0] has no 'drop'");
}

static zyntax_poll ready_after_a_yield(void *state, const zyntax_waker *waker) {
  atomic_int *polls = state;
  if (atomic_fetch_add(polls, 1) > 0) return ZYNTAX_READY;
  zyntax_waker_wake_by_ref(waker);
  return ZYNTAX_PENDING;
}

/* Spawns a task that yields once and drives it to the end on `rt`. */
static void runs_a_task(zyntax_runtime *rt) {
  atomic_int polls = 0;
  zyntax_task *t = zyntax_runtime_spawn(rt, &polls, ready_after_a_yield);
  assert_non_null(t);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
  assert_int_equal(atomic_load(&polls), 2);
  zyntax_task_drop(t);
}

static void newer_minor_with_a_larger_table_is_accepted(void **state) {
  (void)state;
  skip_without_real_plugin();
  zyntax_runtime_options opts = ZYNTAX_RUNTIME_OPTIONS_INIT;
  opts.backend = FIXTURE("newer_minor");
  zyntax_runtime *rt;
  zyntax_runtime_create_with(&opts, &rt);
  if (rt == NULL) fail_msg("%s", zyntax_last_error()->message);
  runs_a_task(rt);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
  zyntax_backend_info info = {.size = sizeof info};
  assert_int_equal(zyntax_backend_probe(FIXTURE("newer_minor"), &info), 0);
  assert_int_equal(info.abi_minor, ZYNTAX_BACKEND_ABI_MINOR + 2);
}

/* A plugin that leaves the optional host-loop entries NULL still runs
 * tasks; the public calls they serve report EUNSUPPORTED. */
static void optional_entries_absent_are_unsupported(void **state) {
  (void)state;
  skip_without_real_plugin();
  zyntax_runtime_options opts = ZYNTAX_RUNTIME_OPTIONS_INIT;
  opts.backend = FIXTURE("no_host_loop");
  zyntax_runtime *rt;
  zyntax_runtime_create_with(&opts, &rt);
  if (rt == NULL) fail_msg("%s", zyntax_last_error()->message);
  runs_a_task(rt);
  uint64_t d;
  int more;
  assert_int_equal(zyntax_runtime_poll_fd(rt), ZYNTAX_EUNSUPPORTED);
  assert_mentions(zyntax_last_error()->message, "no host-loop entries");
  assert_int_equal(zyntax_runtime_next_deadline(rt, &d), ZYNTAX_EUNSUPPORTED);
  assert_int_equal(zyntax_runtime_run_nowait(rt, &more), ZYNTAX_EUNSUPPORTED);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
}

/* ZYNTAX_RUNTIME_PATH is searched before every other folder. */
static void runtime_path_comes_first(void **state) {
  (void)state;
  const char *slash = strrchr(REAL_PLUGIN, '/');
  if (slash == NULL) {
    skip(); /* a build without plugin files */
    return;
  }
  const char *name = slash + 1; /* libzyntax-backend-NAME.so */
  assert_true(strlen(name) > 21);
  char dir[] = "/tmp/zyntax-loader-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char copy[512], cmd[1200];
  snprintf(copy, sizeof copy, "%s/%s", dir, name);
  snprintf(cmd, sizeof cmd, "cp '%s' '%s'", REAL_PLUGIN, copy);
  assert_int_equal(system(cmd), 0);
  char backend[64];
  snprintf(backend, sizeof backend, "%.*s", (int)(strlen(name) - 21), name + 18);

  setenv("ZYNTAX_RUNTIME_PATH", dir, 1);
  zyntax_backend_info info = {.size = sizeof info};
  int rc = zyntax_backend_probe(backend, &info);
  unsetenv("ZYNTAX_RUNTIME_PATH");
  unlink(copy);
  rmdir(dir);
  if (rc != 0) fail_msg("%s", info.message);
  assert_string_equal(info.path, copy);
  assert_string_equal(info.name, backend);
}

/* Runs `request` with stderr sent to a file; returns what was printed. */
static char *stderr_of_a_failed_create(const char *request) {
  static char text[4096];
  FILE *capture = tmpfile();
  assert_non_null(capture);
  fflush(stderr);
  int saved = dup(2);
  dup2(fileno(capture), 2);
  zyntax_runtime_options opts = ZYNTAX_RUNTIME_OPTIONS_INIT;
  opts.backend = request;
  zyntax_runtime *rt;
  zyntax_runtime_create_with(&opts, &rt);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  assert_null(rt);
  rewind(capture);
  size_t n = fread(text, 1, sizeof text - 1, capture);
  text[n] = '\0';
  fclose(capture);
  return text;
}

static void silent_unless_asked(void **state) {
  (void)state;
  assert_string_equal(stderr_of_a_failed_create("nope"), "");
  assert_string_equal(stderr_of_a_failed_create(FIXTURE("returns_null")), "");
  setenv("ZYNTAX_LOG", "1", 1);
  char *logged = stderr_of_a_failed_create("nope");
  unsetenv("ZYNTAX_LOG");
  assert_mentions(logged, "'nope'");
}

/* Two runtimes on two different backends, alive together, each driven by
 * its own thread. */
static void *drive_one(void *arg) {
  runs_a_task(arg);
  return NULL;
}

static void two_backends_in_one_process(void **state) {
  (void)state;
  zyntax_runtime_options a = ZYNTAX_RUNTIME_OPTIONS_INIT, b = ZYNTAX_RUNTIME_OPTIONS_INIT;
  a.backend = "uv";
  b.backend = "ev";
  zyntax_runtime *uv;
  zyntax_runtime_create_with(&a, &uv);
  zyntax_runtime *ev;
  zyntax_runtime_create_with(&b, &ev);
  if (uv == NULL || ev == NULL) {
    if (uv) zyntax_runtime_destroy(uv);
    if (ev) zyntax_runtime_destroy(ev);
    skip(); /* a build without both C backends */
  }
  assert_string_equal(zyntax_runtime_backend_name(uv), "uv");
  assert_string_equal(zyntax_runtime_backend_name(ev), "ev");
  for (int round = 0; round < 50; round++) {
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, drive_one, uv), 0);
    assert_int_equal(pthread_create(&t2, NULL, drive_one, ev), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
  }
  assert_int_equal(zyntax_runtime_destroy(uv), 0);
  assert_int_equal(zyntax_runtime_destroy(ev), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(unknown_name_lists_what_was_tried),
      cmocka_unit_test(unknown_name_from_the_environment_is_no_fallback),
      cmocka_unit_test(names_that_are_not_names),
      cmocka_unit_test(missing_file),
      cmocka_unit_test(not_an_elf_file),
      cmocka_unit_test(truncated_elf_file),
      cmocka_unit_test(no_entry_symbol),
      cmocka_unit_test(entry_returns_null),
      cmocka_unit_test(wrong_abi_major),
      cmocka_unit_test(table_too_small),
      cmocka_unit_test(no_name),
      cmocka_unit_test(missing_required_entry),
      cmocka_unit_test(newer_minor_with_a_larger_table_is_accepted),
      cmocka_unit_test(optional_entries_absent_are_unsupported),
      cmocka_unit_test(half_an_optional_group),
      cmocka_unit_test(task_ops_too_small),
      cmocka_unit_test(future_ops_without_drop),
      cmocka_unit_test(runtime_path_comes_first),
      cmocka_unit_test(silent_unless_asked),
      cmocka_unit_test(two_backends_in_one_process),
  };
  return cmocka_run_group_tests_name("loader", tests, NULL, NULL);
}
