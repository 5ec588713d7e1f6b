/* The loader's security rules:
 *  - a plugin file, or a folder holding it, writable by others is refused;
 *  - relative plugin paths are refused;
 *  - in secure-execution mode (setuid/setgid: AT_SECURE) absolute plugin
 *    paths and ZYNTAX_RUNTIME_PATH are ignored. That part (`--setuid`)
 *    runs secure_child.c as a setuid copy owned by `nobody`; where the
 *    machine does not allow it (not root, nosuid or noexec /tmp) it is
 *    skipped with the reason and exit code 77. */
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <zyntax/runtime.h>

static char plugin[PATH_MAX]; /* a working plugin file (argv[1]) */

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
  zyntax_runtime *rt;
  int rc = zyntax_runtime_create_with(&o, &rt);
  if (rc == 0) zyntax_runtime_destroy(rt);
  return rc;
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

/* ---- the setuid case ---------------------------------------------------
 * The setuid copy runs as `nobody`, who must be able to reach the copy and
 * everything it loads wherever this tree sits (a clone in a 0700 folder,
 * like /root or `mktemp -d`, is out of its reach). So the copy, libzyntax
 * and a plugin go to a fresh folder under /tmp, 0755 and owned by root,
 * removed afterwards. Where the machine cannot run a setuid copy at all,
 * the case is skipped and the process exits 77, which CTest reports as
 * skipped (SKIP_RETURN_CODE), with the reason. */

static const char *skip_reason; /* set when the setuid case was skipped */

#define SKIP_BECAUSE(reason)                    \
  do {                                          \
    skip_reason = (reason);                     \
    print_message("skipped: %s\n", skip_reason); \
    skip();                                     \
  } while (0)

static char libzyntax[PATH_MAX], child[PATH_MAX]; /* argv[3], argv[4] */

typedef struct secure_dir {
  char dir[32], env[64], plugin[PATH_MAX], lib[96], child[96];
} secure_dir;

static void secure_dir_remove(secure_dir *d) {
  unlink(d->child);
  unlink(d->lib);
  unlink(d->plugin);
  rmdir(d->env);
  rmdir(d->dir);
}

/* dir/secure-child (setuid nobody), dir/libzyntax.so.0, and the plugin in
 * dir/env/ (the folder ZYNTAX_RUNTIME_PATH will name). 0 or -1. */
static int secure_dir_make(secure_dir *d, const struct passwd *nobody) {
  snprintf(d->dir, sizeof d->dir, "/tmp/zyntax-secure-XXXXXX");
  if (mkdtemp(d->dir) == NULL) return -1;
  snprintf(d->env, sizeof d->env, "%s/env", d->dir);
  snprintf(d->plugin, sizeof d->plugin, "%s/%s", d->env, strrchr(plugin, '/') + 1);
  snprintf(d->lib, sizeof d->lib, "%s/libzyntax.so.0", d->dir);
  snprintf(d->child, sizeof d->child, "%s/secure-child", d->dir);
  int ok = chmod(d->dir, 0755) == 0 && mkdir(d->env, 0755) == 0 &&
           copy_file(plugin, d->plugin, 0755) == 0 &&
           copy_file(libzyntax, d->lib, 0755) == 0 &&
           copy_file(child, d->child, 0755) == 0 &&
           chown(d->child, nobody->pw_uid, nobody->pw_gid) == 0 &&
           chmod(d->child, 04755) == 0;
  return ok ? 0 : -1;
}

/* Runs the setuid copy; returns its exit code, or -1 if it did not exit. */
static int run_child(const secure_dir *d) {
  pid_t pid = fork();
  if (pid == 0) {
    execl(d->child, d->child, d->lib, d->plugin, (char *)NULL);
    _exit(126);
  }
  int status;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

static void setuid_copy_ignores_environment(void **state) {
  (void)state;
  struct passwd *nobody = getpwnam("nobody");
  if (geteuid() != 0 || nobody == NULL)
    SKIP_BECAUSE("needs root and a 'nobody' user to make a setuid copy");
  struct stat tmp;
  if (stat("/tmp", &tmp) != 0 || !(tmp.st_mode & S_IXOTH))
    SKIP_BECAUSE("/tmp is not searchable by other users");
  secure_dir d;
  memset(&d, 0, sizeof d);
  int made = secure_dir_make(&d, nobody);
  int rc = made == 0 ? run_child(&d) : -1;
  secure_dir_remove(&d);
  assert_int_equal(made, 0);
  if (rc == 77) SKIP_BECAUSE("the setuid bit has no effect here (nosuid mount of /tmp?)");
  if (rc == 126) SKIP_BECAUSE("cannot execute a file in /tmp (noexec mount?)");
  assert_int_equal(rc, 0); /* 3: libzyntax not loadable, 1: policy broken */
}

int main(int argc, char **argv) {
  int setuid_case = argc == 5 && strcmp(argv[2], "--setuid") == 0;
  if ((argc != 2 && !setuid_case) || realpath(argv[1], plugin) == NULL ||
      (setuid_case && (realpath(argv[3], libzyntax) == NULL ||
                       realpath(argv[4], child) == NULL))) {
    fprintf(stderr,
            "usage: %s /abs/libzyntax-backend-NAME.so [--setuid LIBZYNTAX SECURE_CHILD]\n",
            argv[0]);
    return 2;
  }
  if (setuid_case) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(setuid_copy_ignores_environment)};
    int failed = cmocka_run_group_tests_name("loader-security-setuid", tests, NULL, NULL);
    if (failed == 0 && skip_reason != NULL) {
      printf("SKIPPED: %s\n", skip_reason);
      return 77;
    }
    return failed;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(writable_plugin_refused),
      cmocka_unit_test(relative_path_refused),
  };
  return cmocka_run_group_tests_name("loader-security", tests, NULL, NULL);
}
