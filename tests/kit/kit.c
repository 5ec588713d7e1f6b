/* zyntax-conformance: the conformance kit. One binary holds the
 * conformance suite (every group of tests/conformance), the cancellation
 * matrix (tests/matrix) and the misuse list (tests/misuse); it runs them
 * against the backend ZYNTAX_RUNTIME names - a linked-in or installed
 * backend, or any plugin by absolute path - and prints a summary a backend
 * author can paste into a README.
 *
 *   ZYNTAX_RUNTIME=/abs/libzyntax-backend-foo.so zyntax-conformance
 *
 * Each group runs in a child process of its own (fork, no exec), with a
 * timeout, so a crash or a hang in one group is reported as such and the
 * others still run. `zyntax-conformance GROUP` alone runs that group in
 * this process, with cmocka's output as it comes (for a debugger). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zyntax/backend.h>
#include <zyntax/runtime.h>

#include "groups.h"
#include "kit.h"

#define KIT_DEFAULT_TIMEOUT 300 /* seconds per group */
#define KIT_OUTPUT_MAX (1u << 20) /* output kept per group */

/* ---- the groups ---- */

#define KIT_COUNT_DECL_(name, tests, count) extern const size_t count;
CONFORMANCE_GROUPS(KIT_COUNT_DECL_)
#undef KIT_COUNT_DECL_

typedef struct kit_group {
  const char *name;
  const char *suite; /* "conformance", "matrix", "misuse" */
  const size_t *count; /* tests in it, when known before running */
} kit_group;

static const kit_group groups[] = {
#define KIT_GROUP_(name, tests, count) {#name, "conformance", &count},
    CONFORMANCE_GROUPS(KIT_GROUP_)
#undef KIT_GROUP_
    {"matrix", "matrix", NULL},
    {"misuse", "misuse", NULL},
};
#define NGROUPS (sizeof groups / sizeof groups[0])

static int run_in_process(const kit_group *g) {
  if (strcmp(g->suite, "matrix") == 0) return zyntax_kit_matrix_main();
  if (strcmp(g->suite, "misuse") == 0) return zyntax_kit_misuse_main();
  char *argv[] = {(char *)"zyntax-conformance", (char *)g->name, NULL};
  return zyntax_kit_conformance_main(2, argv);
}

/* ---- one group in a child ---- */

typedef struct outcome {
  int ran, passed, failed, skipped; /* from cmocka's summary lines; -1: none */
  int status;    /* waitpid status */
  int timed_out;
  double seconds;
  char *output;
  size_t len;
} outcome;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void keep(outcome *o, const char *buf, size_t n) {
  if (o->len + n > KIT_OUTPUT_MAX) n = KIT_OUTPUT_MAX - o->len;
  char *grown = realloc(o->output, o->len + n + 1);
  if (grown == NULL) return;
  o->output = grown;
  memcpy(o->output + o->len, buf, n);
  o->len += n;
  o->output[o->len] = '\0';
}

/* cmocka 1.1's summary: "[==========] N test(s) run.", "[  PASSED  ] N
 * test(s).", "[  FAILED  ] N test(s), listed below:", "[  SKIPPED ] N
 * test(s), listed below:" (the lines naming single tests have no
 * "test(s)"). */
static void parse(outcome *o) {
  o->ran = o->passed = o->failed = o->skipped = -1;
  if (o->output == NULL) return;
  static const struct {
    const char *tag;
    size_t field;
  } tags[] = {{"[==========] ", offsetof(outcome, ran)},
              {"[  PASSED  ] ", offsetof(outcome, passed)},
              {"[  FAILED  ] ", offsetof(outcome, failed)},
              {"[  SKIPPED ] ", offsetof(outcome, skipped)}};
  for (char *line = o->output; line != NULL && *line != '\0';) {
    char *end = strchr(line, '\n');
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
      size_t n = strlen(tags[i].tag);
      int value;
      if (strncmp(line, tags[i].tag, n) == 0 && strstr(line, " test(s)") != NULL &&
          sscanf(line + n, "%d", &value) == 1)
        *(int *)((char *)o + tags[i].field) = value;
    }
    line = end ? end + 1 : NULL;
  }
}

/* Reads the child's output until it closes it or the deadline passes. */
static void collect(int fd, pid_t child, double deadline, outcome *o) {
  char buf[4096];
  for (;;) {
    double left = deadline - now_s();
    if (left <= 0) {
      o->timed_out = 1;
      kill(child, SIGKILL);
      break;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, left > 1 ? 1000 : (int)(left * 1000) + 1);
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    keep(o, buf, (size_t)n);
  }
}

static int run_in_child(const kit_group *g, int timeout, outcome *o) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  fflush(NULL); /* nothing buffered is written twice */
  double start = now_s();
  pid_t child = fork();
  if (child < 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  if (child == 0) {
    close(fds[0]);
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[1]);
    int failed = run_in_process(g);
    /* exit, not _exit: the sanitizers' exit checks (LeakSanitizer) run
     * in the child, as they would at the end of a whole run. */
    exit(failed > 0 ? (failed > 125 ? 125 : failed) : 0);
  }
  close(fds[1]);
  collect(fds[0], child, start + timeout, o);
  close(fds[0]);
  while (waitpid(child, &o->status, 0) < 0 && errno == EINTR) {
  }
  o->seconds = now_s() - start;
  parse(o);
  return 0;
}

static int passed(const outcome *o) {
  return !o->timed_out && WIFEXITED(o->status) && WEXITSTATUS(o->status) == 0 &&
         o->failed <= 0 && o->ran >= 0;
}

static const char *verdict(const outcome *o, char *buf, size_t len) {
  if (o->timed_out) return "TIMEOUT";
  if (WIFSIGNALED(o->status)) {
    snprintf(buf, len, "CRASH (%s)", strsignal(WTERMSIG(o->status)));
    return buf;
  }
  if (o->ran < 0) return "FAIL (no summary)";
  if (passed(o)) return "pass";
  if (o->failed <= 0) { /* every test passed, yet the process failed: a
                           sanitizer's check at exit, for one */
    snprintf(buf, len, "FAIL (exit %d)", WEXITSTATUS(o->status));
    return buf;
  }
  return "FAIL";
}

/* ---- the summary ---- */

static void print_header(void) {
  zyntax_backend_info info;
  memset(&info, 0, sizeof info);
  info.size = sizeof info;
  int rc = zyntax_backend_probe(NULL, &info);
  printf("## Zyntax conformance\n\n");
  printf("- kit: zyntax-conformance %s (backend ABI %d.%d)\n", zyntax_version_string(),
         ZYNTAX_BACKEND_ABI_MAJOR, ZYNTAX_BACKEND_ABI_MINOR);
  if (rc != 0) {
    printf("- backend: not usable: %s\n\n", info.message);
    return;
  }
  printf("- backend: %s %s (ABI %u.%u)%s%s\n", info.name, info.version, info.abi_major,
         info.abi_minor, info.path[0] ? ", " : " (linked into libzyntax)",
         info.path[0] ? info.path : "");
  printf("- ZYNTAX_RUNTIME=%s\n\n", getenv("ZYNTAX_RUNTIME") ? getenv("ZYNTAX_RUNTIME") : "(unset)");
}

static void print_count(int value) {
  if (value < 0) printf(" ? |");
  else printf(" %d |", value);
}

static int run_kit(const kit_group **chosen, size_t n, int timeout, int verbose) {
  outcome *out = calloc(n, sizeof *out);
  if (out == NULL) return 2;
  for (size_t i = 0; i < n; i++) {
    fprintf(stderr, "zyntax-conformance: %s ...\n", chosen[i]->name);
    if (run_in_child(chosen[i], timeout, &out[i]) != 0) {
      perror("zyntax-conformance: fork");
      free(out);
      return 2;
    }
    if ((verbose || !passed(&out[i])) && out[i].output != NULL)
      fprintf(stderr, "---- %s ----\n%s---- end of %s ----\n", chosen[i]->name,
              out[i].output, chosen[i]->name);
  }
  print_header();
  printf("| group | suite | tests | passed | failed | skipped | result | seconds |\n");
  printf("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
  int groups_ok = 0, tests = 0, ok = 0, bad = 0, skipped = 0;
  for (size_t i = 0; i < n; i++) {
    const outcome *o = &out[i];
    int ran = o->ran >= 0 ? o->ran : chosen[i]->count ? (int)*chosen[i]->count : -1;
    char buf[64];
    printf("| %s | %s |", chosen[i]->name, chosen[i]->suite);
    print_count(ran);
    print_count(o->passed >= 0 ? o->passed : o->ran >= 0 ? 0 : -1);
    print_count(o->failed >= 0 ? o->failed : o->ran >= 0 ? 0 : -1);
    print_count(o->skipped >= 0 ? o->skipped : o->ran >= 0 ? 0 : -1);
    printf(" %s | %.1f |\n", verdict(o, buf, sizeof buf), o->seconds);
    groups_ok += passed(o);
    tests += ran > 0 ? ran : 0;
    ok += o->passed > 0 ? o->passed : 0;
    skipped += o->skipped > 0 ? o->skipped : 0;
    bad += passed(o) ? 0 : (o->failed > 0 ? o->failed : 1);
  }
  int all = groups_ok == (int)n;
  printf("\n**%s**: %d/%zu groups passed; %d tests: %d passed, %d failed, %d skipped.\n",
         all ? "PASS" : "FAIL", groups_ok, n, tests, ok, bad, skipped);
  for (size_t i = 0; i < n; i++) free(out[i].output);
  free(out);
  return all ? 0 : 1;
}

/* ---- the command line ---- */

static void usage(FILE *to) {
  fprintf(to,
          "usage: zyntax-conformance [--timeout SECONDS] [--verbose] [GROUP...]\n"
          "       zyntax-conformance GROUP        (one group, in this process)\n"
          "       zyntax-conformance --list\n"
          "Runs the conformance suite, the cancellation matrix and the misuse\n"
          "list against the backend ZYNTAX_RUNTIME names (a name or an absolute\n"
          "plugin path), each group in a child process, and prints a summary.\n"
          "GROUP is a group name, or 'conformance' for all of its groups.\n");
}

static const kit_group *find(const char *name) {
  for (size_t i = 0; i < NGROUPS; i++)
    if (strcmp(groups[i].name, name) == 0) return &groups[i];
  return NULL;
}

int main(int argc, char **argv) {
  const kit_group *chosen[NGROUPS * 2];
  size_t n = 0;
  int timeout = KIT_DEFAULT_TIMEOUT, verbose = 0, options = 0;
  const char *env = getenv("ZYNTAX_KIT_TIMEOUT");
  if (env != NULL && atoi(env) > 0) timeout = atoi(env);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--list") == 0) {
      for (size_t g = 0; g < NGROUPS; g++) printf("%s (%s)\n", groups[g].name, groups[g].suite);
      return 0;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
      verbose = 1, options++;
    } else if (strcmp(a, "--timeout") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0) {
      timeout = atoi(argv[++i]), options++;
    } else if (strcmp(a, "conformance") == 0) {
      for (size_t g = 0; g < NGROUPS && n < NGROUPS * 2; g++)
        if (strcmp(groups[g].suite, "conformance") == 0) chosen[n++] = &groups[g];
      options++; /* a set of groups: the kit's way */
    } else if (find(a) != NULL && n < NGROUPS * 2) {
      chosen[n++] = find(a);
    } else {
      fprintf(stderr, "zyntax-conformance: no group or option '%s'\n", a);
      usage(stderr);
      return 2;
    }
  }
  if (n == 1 && options == 0) return run_in_process(chosen[0]);
  if (n == 0)
    for (size_t g = 0; g < NGROUPS; g++) chosen[n++] = &groups[g];
  return run_kit(chosen, n, timeout, verbose);
}
