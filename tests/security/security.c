/* The loader's security rules:
 *  - a plugin file, or a folder holding it, writable by others is refused;
 *  - relative plugin paths are refused;
 *  - in secure-execution mode (setuid/setgid: AT_SECURE) absolute plugin
 *    paths and ZYNTAX_RUNTIME_PATH are ignored. That part re-runs this
 *    binary as a setuid copy owned by `nobody`; where the machine does not
 *    allow it (not root, nosuid mount) it is skipped with the reason. */
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <zyntax/runtime.h>

static char plugin[PATH_MAX]; /* a working plugin file (argv[1]) */
static char self[PATH_MAX];

static int copy_file(const char *from, const char *to, mode_t mode) {
  int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode);
  char buf[65536];
  ssize_t n;
  int ok = in >= 0 && out >= 0;
  while (ok && (n = read(in, buf, sizeof buf)) > 0) ok = write(out, buf, (size_t)n) == n;
  if (in >= 0) close(in);
  if (out >= 0) close(out);
  return ok && chmod(to, mode) == 0 ? 0 : -1;
}

static int create_error(const char *request) {
  zyntax_runtime_options o = ZYNTAX_RUNTIME_OPTIONS_INIT;
  o.backend = request;
  zyntax_error err;
  zyntax_runtime *rt = zyntax_runtime_create_with(&o, &err);
  if (rt == NULL) return err.code;
  zyntax_runtime_destroy(rt);
  return 0;
}

/* Copies the plugin to dir/name with `mode` and tries to create from it. */
static int try_copy(const char *dir, const char *name, mode_t mode) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (copy_file(plugin, path, mode) != 0) return -1000;
  int rc = create_error(path);
  unlink(path);
  return rc;
}

static void writable_plugin_refused(void **state) {
  (void)state;
  char dir[] = "/tmp/zyntax-sec-XXXXXX";
  assert_non_null(mkdtemp(dir));
  assert_int_equal(try_copy(dir, "a.so", 0755), 0);
  assert_int_equal(try_copy(dir, "b.so", 0757), ZYNTAX_EPERM); /* file writable by others */
  assert_non_null(strstr(zyntax_last_error()->message, "writable by others"));
  assert_int_equal(chmod(dir, 0777), 0); /* folder writable by others, not sticky */
  assert_int_equal(try_copy(dir, "c.so", 0755), ZYNTAX_EPERM);
  assert_int_equal(chmod(dir, 01777), 0); /* sticky, like /tmp: accepted */
  assert_int_equal(try_copy(dir, "d.so", 0755), 0);
  rmdir(dir);
}

static void relative_path_refused(void **state) {
  (void)state;
  assert_int_equal(create_error("./libzyntax-backend-uv.so"), ZYNTAX_EPERM);
  assert_int_equal(create_error("plugins/x.so"), ZYNTAX_EPERM);
}

/* Runs in the setuid copy: what secure mode must refuse or ignore. */
static int secure_child(void) {
  if (getauxval(AT_SECURE) == 0) return 77;
  int bad = 0;
  bad |= create_error(plugin) != ZYNTAX_EPERM;
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", plugin);
  *strrchr(dir, '/') = '\0';
  const char *name = strrchr(plugin, '/') + 1 + strlen("libzyntax-backend-");
  char backend[64];
  snprintf(backend, sizeof backend, "%.*s", (int)(strlen(name) - 3), name);
  setenv("ZYNTAX_RUNTIME_PATH", dir, 1); /* ignored in secure mode */
  unsetenv("ZYNTAX_RUNTIME");
  zyntax_backend_info info = {.size = sizeof info};
  int rc = zyntax_backend_probe(backend, &info);
  bad |= rc == 0 && strncmp(info.path, dir, strlen(dir)) == 0;
  bad |= strstr(info.message, dir) != NULL; /* not even tried */
  return bad;
}

static void setuid_copy_ignores_environment(void **state) {
  (void)state;
  struct passwd *nobody = getpwnam("nobody");
  if (geteuid() != 0 || nobody == NULL) {
    print_message("skipped: needs root and a 'nobody' user to make a setuid copy\n");
    skip();
  }
  char copy[PATH_MAX + 8];
  snprintf(copy, sizeof copy, "%s.setuid", self);
  assert_int_equal(copy_file(self, copy, 0755), 0);
  assert_int_equal(chown(copy, nobody->pw_uid, nobody->pw_gid), 0);
  assert_int_equal(chmod(copy, 04755), 0);
  pid_t pid = fork();
  if (pid == 0) {
    execl(copy, copy, plugin, "--secure-child", (char *)NULL);
    _exit(127);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  unlink(copy);
  assert_true(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) {
    print_message("skipped: the setuid bit has no effect here (nosuid mount?)\n");
    skip();
  }
  assert_int_equal(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv) {
  if (argc < 2 || realpath(argv[1], plugin) == NULL || realpath(argv[0], self) == NULL) {
    fprintf(stderr, "usage: %s /abs/path/libzyntax-backend-NAME.so\n", argv[0]);
    return 2;
  }
  if (argc > 2 && strcmp(argv[2], "--secure-child") == 0) return secure_child();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(writable_plugin_refused),
      cmocka_unit_test(relative_path_refused),
      cmocka_unit_test(setuid_copy_ignores_environment),
  };
  return cmocka_run_group_tests_name("loader-security", tests, NULL, NULL);
}
