/* The http_serve test: starts the server (port 0, the port read from its
 * "listening on PORT" line), opens CONNECTIONS concurrent keep-alive
 * connections that each make REQUESTS requests (every other connection
 * pipelines them two at a time; every fifth ends with "Connection: close"
 * and expects the server to close), checks every response byte, then holds
 * IDLE more connections open, sends SIGTERM and expects the server to close
 * them and exit 0. One thread, poll(2); every wait is bounded, nothing
 * depends on speed. Exit 0 = pass. Built with HTTP_SERVE_WRAPPER (valgrind)
 * the server runs under it, and its exit status carries the leak check. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http_parse.h"

#ifndef HTTP_SERVE_PATH
#error "HTTP_SERVE_PATH: the http_serve program"
#endif
#ifndef HTTP_SERVE_WRAPPER
#define HTTP_SERVE_WRAPPER "" /* run the server directly */
#endif

enum { CONNECTIONS = 200, REQUESTS = 20, IDLE = 50 };
enum { DEADLINE_MS = 120000, STOP_DEADLINE_MS = 30000 };

static const char expected[] = HTTP_SERVE_RESPONSE;
enum { RESPONSE_LEN = sizeof expected - 1 };

static const char keep_alive_request[] = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";
static const char close_request[] = "GET /last HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";

typedef struct client {
  int fd;
  int sent;          /* requests sent */
  size_t received;   /* response bytes received (all checked) */
  int pipelined;     /* sends two requests per write */
  int ends_with_close;
  int finished;      /* every response in; EOF seen if ends_with_close */
} client;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int fail(const char *what) {
  fprintf(stderr, "http_client: FAIL: %s\n", what);
  return -1;
}

/* In the child: execs [HTTP_SERVE_WRAPPER words...] HTTP_SERVE_PATH 0. The
 * wrapper (e.g. valgrind) is a space-separated command line. */
static void exec_server(void) {
  char wrapper[] = HTTP_SERVE_WRAPPER, *argv[32];
  int argc = 0;
  for (char *w = strtok(wrapper, " "); w && argc < 29; w = strtok(NULL, " ")) argv[argc++] = w;
  argv[argc++] = HTTP_SERVE_PATH;
  argv[argc++] = "0";
  argv[argc] = NULL;
  execvp(argv[0], argv);
  perror(argv[0]);
  _exit(127);
}

static pid_t start_server(int *port) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    exec_server();
  }
  close(fds[1]);
  char line[128];
  size_t len = 0;
  struct pollfd p = {.fd = fds[0], .events = POLLIN};
  while (len < sizeof line - 1 && memchr(line, '\n', len) == NULL && poll(&p, 1, 20000) == 1) {
    ssize_t n = read(fds[0], line + len, sizeof line - 1 - len);
    if (n <= 0) break;
    len += (size_t)n;
  }
  line[len] = '\0';
  close(fds[0]); /* the server prints nothing more on stdout */
  if (pid > 0 && sscanf(line, "listening on %d", port) != 1) {
    fail("no 'listening on PORT' line from the server");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
  }
  return pid;
}

static int connect_to(int port) {
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    perror("http_client: connect");
    if (fd >= 0) close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

/* Sends the next request (two when pipelined) once every earlier one was
 * answered. Requests are tiny: one send each fits the socket buffer. */
static int send_next(client *c) {
  if (c->sent == REQUESTS || c->received != (size_t)c->sent * RESPONSE_LEN) return 0;
  for (int k = 0; k < (c->pipelined ? 2 : 1) && c->sent < REQUESTS; k++) {
    int last = c->sent == REQUESTS - 1 && c->ends_with_close;
    const char *req = last ? close_request : keep_alive_request;
    size_t len = strlen(req);
    if (send(c->fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) return fail("send");
    c->sent++;
  }
  return 0;
}

/* Reads what arrived and checks it byte by byte against the responses. */
static int receive(client *c) {
  char buf[4096];
  ssize_t n = recv(c->fd, buf, sizeof buf, 0);
  if (n < 0) return errno == EAGAIN ? 0 : fail("recv");
  size_t want = (size_t)REQUESTS * RESPONSE_LEN;
  if (n == 0) {
    if (!c->ends_with_close || c->received != want) return fail("early EOF from the server");
    return c->finished = 1, 0;
  }
  for (ssize_t i = 0; i < n; i++, c->received++)
    if (c->received >= (size_t)c->sent * RESPONSE_LEN ||
        buf[i] != expected[c->received % RESPONSE_LEN])
      return fail("a response byte differs from the expected response");
  if (c->received == want && !c->ends_with_close) c->finished = 1;
  return send_next(c);
}

/* Every client to the end, or a failure / the deadline. */
static int exchange(client *clients, int count, long long deadline) {
  static struct pollfd fds[CONNECTIONS];
  int left = count;
  while (left > 0) {
    int n = 0;
    for (int i = 0; i < count; i++)
      if (!clients[i].finished) fds[n++] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
    long long wait = deadline - now_ms();
    if (wait <= 0) return fail("deadline passed before every response arrived");
    if (poll(fds, (nfds_t)n, (int)wait) < 0 && errno != EINTR) return fail("poll");
    left = 0;
    for (int i = 0, k = 0; i < count; i++) {
      if (clients[i].finished) continue;
      if ((fds[k++].revents & (POLLIN | POLLHUP | POLLERR)) && receive(&clients[i]) != 0) return -1;
      left += !clients[i].finished;
    }
  }
  return 0;
}

static int run_clients(int port) {
  static client clients[CONNECTIONS];
  for (int i = 0; i < CONNECTIONS; i++) {
    clients[i] = (client){.fd = connect_to(port), .pipelined = i % 2, .ends_with_close = i % 5 == 0};
    if (clients[i].fd < 0) return -1;
  }
  for (int i = 0; i < CONNECTIONS; i++)
    if (send_next(&clients[i]) != 0) return -1;
  int rc = exchange(clients, CONNECTIONS, now_ms() + DEADLINE_MS);
  for (int i = 0; i < CONNECTIONS; i++) close(clients[i].fd);
  if (rc == 0)
    printf("http_client: %d connections x %d requests: every response byte as expected\n",
           CONNECTIONS, REQUESTS);
  return rc;
}

/* The idle connections must be closed by the server when it stops. */
static int expect_closed(const int *fds, int count) {
  long long deadline = now_ms() + STOP_DEADLINE_MS;
  for (int i = 0; i < count; i++) {
    struct pollfd p = {.fd = fds[i], .events = POLLIN};
    long long wait = deadline - now_ms();
    char byte;
    if (wait <= 0 || poll(&p, 1, (int)wait) != 1) return fail("an idle connection stayed open");
    ssize_t n = recv(fds[i], &byte, 1, 0);
    if (n > 0) return fail("data on an idle connection");
  }
  return 0;
}

/* SIGTERM, then a clean exit within the bound (SIGKILL and failure past it). */
static int stop_server(pid_t pid, const int *idle, int idle_count) {
  if (kill(pid, SIGTERM) != 0) return fail("kill");
  int rc = expect_closed(idle, idle_count);
  long long deadline = now_ms() + STOP_DEADLINE_MS;
  int status;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (now_ms() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return fail("the server did not exit after SIGTERM");
    }
    usleep(10000);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return fail("the server's exit status is not 0");
  if (rc == 0) printf("http_client: SIGTERM: %d idle connections closed, exit status 0\n", idle_count);
  return rc;
}

int main(void) {
  int port;
  signal(SIGPIPE, SIG_IGN);
  pid_t pid = start_server(&port);
  if (pid < 0) return 1;
  int rc = run_clients(port);
  int idle[IDLE], idle_count = 0;
  while (rc == 0 && idle_count < IDLE && (idle[idle_count] = connect_to(port)) >= 0) idle_count++;
  /* A request in flight on one of them: shutdown also cancels a reader. */
  if (idle_count > 0) send(idle[0], "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL);
  if (stop_server(pid, idle, idle_count) != 0) rc = -1;
  for (int i = 0; i < idle_count; i++) close(idle[i]);
  return rc == 0 ? 0 : 1;
}
