/** @file
 * Zyntax Runtime - version numbers.
 *
 * ABI rule: a release that only adds functions, appends fields at the end of
 * a `size`-prefixed struct, or appends entries to the backend vtable bumps
 * MINOR. Anything that removes, reorders or changes the meaning of a symbol
 * or field bumps MAJOR (and the SONAME). PATCH never changes the ABI.
 */
#ifndef ZYNTAX_VERSION_H
#define ZYNTAX_VERSION_H

#define ZYNTAX_VERSION_MAJOR 0
#define ZYNTAX_VERSION_MINOR 1
#define ZYNTAX_VERSION_PATCH 0

/** 0xMMmmpp: compare with zyntax_version() to detect a header/library skew. */
#define ZYNTAX_VERSION_HEX                                                  \
  ((ZYNTAX_VERSION_MAJOR << 16) | (ZYNTAX_VERSION_MINOR << 8) |            \
   ZYNTAX_VERSION_PATCH)

#define ZYNTAX_STRINGIFY_(x) #x
#define ZYNTAX_STRINGIFY(x) ZYNTAX_STRINGIFY_(x)
#define ZYNTAX_VERSION_STRING                                               \
  ZYNTAX_STRINGIFY(ZYNTAX_VERSION_MAJOR) "."                               \
  ZYNTAX_STRINGIFY(ZYNTAX_VERSION_MINOR) "."                               \
  ZYNTAX_STRINGIFY(ZYNTAX_VERSION_PATCH)

/** Marks the functions libzyntax exports; everything else is hidden. A
 * program may define it before including any zyntax header (as with
 * UV_EXTERN or SQLITE_API), e.g. to add a dllimport-style attribute or to
 * compile the headers with a compiler that lacks the visibility attribute. */
#ifndef ZYNTAX_EXTERN
#if defined(__GNUC__)
#define ZYNTAX_EXTERN __attribute__((visibility("default")))
#else
#define ZYNTAX_EXTERN
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** The library's version as ZYNTAX_VERSION_HEX of the build it came from.
 * Thread-safe, never fails. */
ZYNTAX_EXTERN unsigned zyntax_version(void);

/** The same as a static string "MAJOR.MINOR.PATCH". Never NULL, never
 * fails; any thread. */
ZYNTAX_EXTERN const char *zyntax_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* ZYNTAX_VERSION_H */
