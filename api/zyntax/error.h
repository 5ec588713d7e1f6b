/** @file
 * Zyntax Runtime - error codes.
 *
 * Functions that can fail return an int (0 on success, a negative ZYNTAX_E*
 * code on failure) or a pointer (NULL on failure). Either way the failure is
 * also recorded for the calling thread and can be read with
 * zyntax_last_error(), like dlerror(): a caller of a function without an
 * error out-parameter still learns why.
 */
#ifndef ZYNTAX_ERROR_H
#define ZYNTAX_ERROR_H

#include "zyntax/version.h"

/** One list yields the codes, zyntax_strerror() and zyntax_err_name().
 * Values are part of the ABI: never renumber, only append. */
#define ZYNTAX_ERRNO_MAP(X)                                                   \
  X(EINVAL, -1, "invalid argument")                                          \
  X(ENOMEM, -2, "out of memory")                                             \
  X(EBUSY, -3, "runtime is busy (being driven or used by another thread)")  \
  X(EREENTRANT, -4, "called from inside a poll function or a runtime thread") \
  X(ECANCELED, -5, "task was cancelled")                                     \
  X(ECLOSED, -6, "runtime is shutting down or destroyed")                   \
  X(EFOREIGN, -7, "handle belongs to another runtime")                      \
  X(ENOBACKEND, -8, "no such backend")                                       \
  X(EBADPLUGIN, -9, "file is not a valid zyntax backend plugin")            \
  X(EABI, -10, "backend plugin has an incompatible ABI")                    \
  X(EUNSUPPORTED, -11, "operation not supported by this backend")           \
  X(EIO, -12, "I/O error reported by the backend")                          \
  X(EFINISHED, -13, "task has already finished")                            \
  X(EPERM, -14, "refused by the loader's security policy")                  \
  X(EBADPOLL, -15, "poll function returned a value that is not a zyntax_poll") \
  X(EBADF, -16, "bad file descriptor")                                      \
  X(ETIMEDOUT, -17, "timed out")                                            \
  X(EBACKEND, -18, "backend internal failure")                              \
  X(EFORKED, -19, "runtime belongs to the parent of this forked process")   \
  X(EAGAIN, -20, "operation would wait (channel full or empty, no permit)")

enum zyntax_errno {
  ZYNTAX_OK = 0,
#define ZYNTAX_ERRNO_ENUM_(name, value, text) ZYNTAX_##name = (value),
  ZYNTAX_ERRNO_MAP(ZYNTAX_ERRNO_ENUM_)
#undef ZYNTAX_ERRNO_ENUM_
};

#define ZYNTAX_ERROR_MESSAGE_MAX 1024

/** A failure with its context: `code` is a ZYNTAX_E* value, `message` a
 * NUL-terminated human-readable explanation (for the loader: the file, the
 * versions, what was tried, which backends are available). */
typedef struct zyntax_error {
  int code;
  char message[ZYNTAX_ERROR_MESSAGE_MAX];
} zyntax_error;

#ifdef __cplusplus
extern "C" {
#endif

/** A static string describing `code`; "unknown error" for an unknown code.
 * Never allocates, never NULL, thread-safe. */
ZYNTAX_EXTERN const char *zyntax_strerror(int code);

/** The code's symbolic name ("ZYNTAX_EINVAL"), "ZYNTAX_OK" for 0,
 * "ZYNTAX_E?" for an unknown code. Static, never NULL, thread-safe. */
ZYNTAX_EXTERN const char *zyntax_err_name(int code);

/** The most recent failure of a zyntax_* call on the calling thread (code 0
 * and an empty message if none failed yet). The pointer is to thread-local
 * storage: valid until the thread exits, overwritten by the next failure on
 * the same thread. Successful calls do not clear it. Never fails, never
 * NULL; any thread (each sees its own). */
ZYNTAX_EXTERN const zyntax_error *zyntax_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* ZYNTAX_ERROR_H */
