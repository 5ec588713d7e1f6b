/* zyntax-bench run --load: start the program, wait for --ready, run the
 * load command against it, stop the program (SIGTERM, SIGKILL after
 * --grace), and keep the load command's stdout (wrk's summary parsed). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

enum { LOAD_OUTPUT_MAX = 64 * 1024 };

static int port_accepts(int port) {
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int ok = fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

/* The port once the --ready condition holds, or -1 (run->status says why). */
static int wait_ready(const zh_options *opt, zh_child *c, zh_run *run) {
  int fixed = strcmp(opt->ready, "tcp:auto") == 0 ? 0 : atoi(opt->ready + 4);
  double deadline = zh_now_s() + opt->ready_timeout_s;
  while (zh_now_s() < deadline) {
    int port = fixed ? fixed : atomic_load(&c->port);
    if (port > 0 && port_accepts(port)) return port;
    if (port < 0 || zh_child_exited(c)) break;
    usleep(10000);
  }
  snprintf(run->status, sizeof run->status, "not ready (%s) within %.0f s: %s", opt->ready,
           opt->ready_timeout_s, c->last);
  return -1;
}

/* opt->load with every "{port}" replaced; malloc'd. */
static char *command_for(const char *load, int port) {
  char digits[16];
  size_t len = strlen(load) + 1;
  snprintf(digits, sizeof digits, "%d", port);
  for (const char *p = strstr(load, "{port}"); p; p = strstr(p + 6, "{port}")) len += strlen(digits);
  char *out = malloc(len), *w = out;
  for (const char *p = load; out && *p;) {
    if (strncmp(p, "{port}", 6) == 0) w = stpcpy(w, digits), p += 6;
    else *w++ = *p++;
  }
  if (out) *w = '\0';
  return out;
}

/* Runs `command` with sh -c; its stdout (up to LOAD_OUTPUT_MAX) into
 * run->load_output. Returns its wait status, or -1. */
static int run_command(const char *command, zh_run *run) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  fflush(stdout); /* not fflush(NULL): a reader thread holds its FILE lock */
  fflush(stderr);
  double start = zh_now_s();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl("/bin/sh", "sh", "-c", command, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  char *buf = malloc(LOAD_OUTPUT_MAX + 1);
  size_t len = 0;
  ssize_t got;
  char sink[4096];
  while ((got = read(fds[0], len < LOAD_OUTPUT_MAX && buf ? buf + len : sink,
                     len < LOAD_OUTPUT_MAX && buf ? LOAD_OUTPUT_MAX - len : sizeof sink)) != 0)
    if (got > 0 && buf && len < LOAD_OUTPUT_MAX) len += (size_t)got;
    else if (got < 0 && errno != EINTR) break;
  close(fds[0]);
  if (buf) buf[len] = '\0';
  run->load_output = buf;
  int status = -1;
  while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  run->load_wall_s = zh_now_s() - start;
  return pid > 0 ? status : -1;
}

/* "1.23ms" / "456.00us" / "1.20s" / "2.00m" in microseconds. */
static double wrk_time_us(const char *text) {
  char unit[8] = "";
  double v;
  if (sscanf(text, "%lf%7[a-z]", &v, unit) < 1) return -1;
  return strcmp(unit, "us") == 0 ? v : strcmp(unit, "ms") == 0 ? v * 1e3
       : strcmp(unit, "s") == 0 ? v * 1e6 : strcmp(unit, "m") == 0 ? v * 6e7 : -1;
}

static void parse_wrk(const char *out, zh_wrk *w) {
  memset(w, 0, sizeof *w);
  const char *rps = out ? strstr(out, "Requests/sec:") : NULL;
  if (rps == NULL || sscanf(rps, "Requests/sec: %lf", &w->requests_per_sec) != 1) return;
  const char *lat = strstr(out, "Latency");
  char avg[32], stdev[32], max[32];
  if (lat && sscanf(lat, "Latency %31s %31s %31s", avg, stdev, max) == 3) {
    w->latency_avg_us = wrk_time_us(avg);
    w->latency_stdev_us = wrk_time_us(stdev);
    w->latency_max_us = wrk_time_us(max);
  }
  const char *req = strstr(out, " requests in ");
  while (req && req > out && req[-1] != '\n') req--;
  if (req) sscanf(req, "%lf", &w->requests);
  double connect, rd, wr, timeout;
  const char *se = strstr(out, "Socket errors:");
  if (se && sscanf(se, "Socket errors: connect %lf, read %lf, write %lf, timeout %lf", &connect, &rd,
                   &wr, &timeout) == 4)
    w->socket_errors = connect + rd + wr + timeout;
  const char *bad = strstr(out, "Non-2xx or 3xx responses:");
  if (bad) sscanf(bad, "Non-2xx or 3xx responses: %lf", &w->non_2xx);
  w->parsed = 1;
}

/* SIGTERM, then SIGKILL after the grace period; 0 if it stopped in time. */
static int stop(const zh_options *opt, zh_child *c, zh_run *run, int *status) {
  kill(c->pid, SIGTERM);
  if (zh_child_wait(c, opt->grace_s, run, status) == 0) return 0;
  kill(c->pid, SIGKILL);
  zh_child_wait(c, -1, run, status);
  return -1;
}

static int is_wrk(const char *load) {
  const char *word = load + strspn(load, " ");
  const char *slash = NULL;
  for (const char *p = word; *p && *p != ' '; p++)
    if (*p == '/') slash = p;
  return strncmp(slash ? slash + 1 : word, "wrk ", 4) == 0;
}

void zh_run_loaded(const zh_options *opt, zh_run *run) {
  zh_child c;
  int status, load_status = -1;
  char why[256] = "";
  if (zh_child_start(opt, run->backend, &c, run) != 0) return;
  run->port = wait_ready(opt, &c, run);
  if (run->port > 0) {
    char *command = command_for(opt->load, run->port);
    load_status = command ? run_command(command, run) : -1;
    free(command);
    parse_wrk(run->load_output, &run->wrk);
  } else {
    snprintf(why, sizeof why, "%s", run->status);
  }
  int exited_early = zh_child_exited(&c);
  if (exited_early) snprintf(why + strlen(why), sizeof why - strlen(why), "%sexited under load",
                             why[0] ? "; " : "");
  if (!exited_early && stop(opt, &c, run, &status) != 0)
    snprintf(why, sizeof why, "did not stop within %.0f s of SIGTERM (killed)", opt->grace_s);
  else if (exited_early) zh_child_wait(&c, -1, run, &status);
  int clean = (WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
              (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  if (!why[0] && !clean) snprintf(why, sizeof why, "stopped badly: %.200s", run->status);
  if (!why[0] && (load_status == -1 || !WIFEXITED(load_status) || WEXITSTATUS(load_status) != 0))
    snprintf(why, sizeof why, "the load command failed (status %d)", load_status);
  if (!why[0] && is_wrk(opt->load) && !run->wrk.parsed)
    snprintf(why, sizeof why, "no wrk summary in the load command's output");
  run->ok = !why[0];
  if (why[0]) memcpy(run->status, why, sizeof why);
}
