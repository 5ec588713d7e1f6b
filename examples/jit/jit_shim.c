#include "jit_shim.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../http_parse.h"

int zjit_shim_connect(const char *url, char *request, int64_t cap, int64_t *request_len) {
  size_t len = 0;
  int fd;
  int err = http_connect(url, request, (size_t)cap, &len, &fd);
  if (err != 0) {
    if (fd >= 0) close(fd);
    return -err;
  }
  *request_len = (int64_t)len;
  return fd;
}

int zjit_shim_connect_result(int fd) { return -http_connect_result(fd); }

int64_t zjit_shim_send(int fd, const char *buf, int64_t len) {
  ssize_t n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
  return n < 0 ? -errno : n;
}

int64_t zjit_shim_recv(int fd, char *buf, int64_t len) {
  ssize_t n = read(fd, buf, (size_t)len);
  return n < 0 ? -errno : n;
}

int zjit_shim_head(char *head, int64_t len, int64_t *body_at, int64_t *body_length) {
  size_t at = 0, length = 0;
  if (!http_parse_head(head, (size_t)len, &at, &length)) return 0;
  *body_at = (int64_t)at;
  *body_length = (int64_t)length;
  return 1;
}
