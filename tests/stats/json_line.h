/* A strict reader for the one JSON shape ZYNTAX_STATS writes: a single
 * object on one line, ending in '\n', whose values are strings, unsigned
 * integers, or arrays of unsigned integers. Anything else - other JSON, a
 * missing or second line, a truncated or interleaved line - is refused,
 * which is what the stats tests check. */
#ifndef ZYNTAX_TESTS_JSON_LINE_H
#define ZYNTAX_TESTS_JSON_LINE_H

#include <stddef.h>
#include <stdint.h>

#define JSON_LINE_MAX_FIELDS 32
#define JSON_LINE_MAX_ITEMS 64

typedef struct json_field {
  char key[32];
  int kind; /* 's' string, 'n' number, 'a' array of numbers */
  char text[256]; /* 's' (unescaped) */
  uint64_t number; /* 'n' */
  uint64_t items[JSON_LINE_MAX_ITEMS]; /* 'a' */
  size_t nitems;
} json_field;

typedef struct json_line {
  json_field fields[JSON_LINE_MAX_FIELDS];
  size_t nfields;
} json_line;

/* Parses the line starting at `text` (up to and including its '\n').
 * Returns the length consumed, or 0 when it is not one such object
 * followed by '\n'. */
size_t json_line_parse(const char *text, json_line *out);

/* The field named `key`, or NULL. */
const json_field *json_line_get(const json_line *l, const char *key);

#endif
