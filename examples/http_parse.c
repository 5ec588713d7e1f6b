#include "http_parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static int parse_url(const char *url, struct sockaddr_in *addr, const char **path) {
  char host[INET_ADDRSTRLEN];
  unsigned port;
  int used = 0;
  if (sscanf(url, "http://%15[0-9.]:%u%n", host, &port, &used) != 2 || port > 65535) return -1;
  *addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &addr->sin_addr) != 1) return -1;
  *path = url[used] == '/' ? url + used : "/";
  return 0;
}

int http_connect(const char *url, char *request, size_t cap, size_t *request_len, int *fd) {
  struct sockaddr_in addr;
  const char *path;
  char host[INET_ADDRSTRLEN];
  *fd = -1;
  if (parse_url(url, &addr, &path) != 0) return EINVAL;
  inet_ntop(AF_INET, &addr.sin_addr, host, sizeof host);
  int n = snprintf(request, cap, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                   path, host);
  if (n < 0 || (size_t)n >= cap) return EINVAL;
  *request_len = (size_t)n;
  *fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (*fd < 0) return errno;
  if (connect(*fd, (struct sockaddr *)&addr, sizeof addr) == 0) return 0;
  return errno == EINPROGRESS ? 0 : errno;
}

int http_connect_result(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

int http_parse_head(char *head, size_t len, size_t *body_at, size_t *body_length) {
  head[len] = '\0';
  const char *end = strstr(head, "\r\n\r\n");
  if (end == NULL) return 0;
  *body_at = (size_t)(end + 4 - head);
  const char *cl = strstr(head, "Content-Length:");
  *body_length = cl != NULL && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
  return 1;
}

int http_header_has(const char *head, size_t head_len, const char *name, const char *token) {
  size_t name_len = strlen(name), token_len = strlen(token);
  for (const char *line = strstr(head, "\r\n"); line && (size_t)(line - head) < head_len;
       line = strstr(line + 2, "\r\n")) {
    const char *at = line + 2;
    if (strncasecmp(at, name, name_len) != 0 || at[name_len] != ':') continue;
    const char *end = strstr(at, "\r\n");
    for (const char *v = at + name_len + 1; end && v + token_len <= end; v++)
      if (strncasecmp(v, token, token_len) == 0) return 1;
  }
  return 0;
}
