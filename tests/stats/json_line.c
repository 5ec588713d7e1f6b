/* json_line.h: a recursive-descent reader for the stats line's shape. */
#include "json_line.h"

#include <string.h>

typedef struct cursor {
  const char *p;
} cursor;

static int expect(cursor *c, char ch) {
  if (*c->p != ch) return 0;
  c->p++;
  return 1;
}

static int hex_digit(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* A JSON string (control characters refused, \uXXXX kept below 0x80). */
static int parse_string(cursor *c, char *out, size_t size) {
  size_t n = 0;
  if (!expect(c, '"')) return 0;
  for (;;) {
    char ch = *c->p++;
    if (ch == '"') break;
    if ((unsigned char)ch < 0x20) return 0; /* also the NUL at the end */
    if (ch == '\\') {
      char e = *c->p++;
      if (e == 'u') {
        int v = 0;
        for (int i = 0; i < 4; i++) {
          int d = hex_digit(*c->p++);
          if (d < 0) return 0;
          v = v * 16 + d;
        }
        if (v >= 0x80) return 0;
        ch = (char)v;
      } else if (e == '"' || e == '\\' || e == '/') {
        ch = e;
      } else {
        return 0;
      }
    }
    if (n + 1 >= size) return 0;
    out[n++] = ch;
  }
  out[n] = '\0';
  return 1;
}

/* An unsigned integer without leading zeros. */
static int parse_number(cursor *c, uint64_t *out) {
  const char *start = c->p;
  uint64_t v = 0;
  while (*c->p >= '0' && *c->p <= '9') {
    uint64_t d = (uint64_t)(*c->p - '0');
    if (v > (UINT64_MAX - d) / 10) return 0;
    v = v * 10 + d;
    c->p++;
  }
  size_t len = (size_t)(c->p - start);
  if (len == 0 || (len > 1 && *start == '0')) return 0;
  *out = v;
  return 1;
}

static int parse_array(cursor *c, json_field *f) {
  f->nitems = 0;
  if (!expect(c, '[')) return 0;
  if (expect(c, ']')) return 1;
  do {
    if (f->nitems == JSON_LINE_MAX_ITEMS) return 0;
    if (!parse_number(c, &f->items[f->nitems++])) return 0;
  } while (expect(c, ','));
  return expect(c, ']');
}

static int parse_value(cursor *c, json_field *f) {
  if (*c->p == '"') {
    f->kind = 's';
    return parse_string(c, f->text, sizeof f->text);
  }
  if (*c->p == '[') {
    f->kind = 'a';
    return parse_array(c, f);
  }
  f->kind = 'n';
  return parse_number(c, &f->number);
}

size_t json_line_parse(const char *text, json_line *out) {
  cursor c = {text};
  out->nfields = 0;
  if (!expect(&c, '{')) return 0;
  do {
    if (out->nfields == JSON_LINE_MAX_FIELDS) return 0;
    json_field *f = &out->fields[out->nfields++];
    if (!parse_string(&c, f->key, sizeof f->key)) return 0;
    for (size_t i = 0; i + 1 < out->nfields; i++)
      if (strcmp(out->fields[i].key, f->key) == 0) return 0; /* a key twice */
    if (!expect(&c, ':') || !parse_value(&c, f)) return 0;
  } while (expect(&c, ','));
  if (!expect(&c, '}') || !expect(&c, '\n')) return 0;
  return (size_t)(c.p - text);
}

const json_field *json_line_get(const json_line *l, const char *key) {
  for (size_t i = 0; i < l->nfields; i++)
    if (strcmp(l->fields[i].key, key) == 0) return &l->fields[i];
  return NULL;
}
