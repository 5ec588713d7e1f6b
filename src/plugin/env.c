/* Environment access: every variable goes through secure_getenv so a
 * setuid/setgid process cannot be steered by its caller's environment. */
#define _GNU_SOURCE
#include <stdlib.h>

#include "internal.h"

const char *zx_getenv(const char *name) { return secure_getenv(name); }
