/* Backend plugins that are wrong in one way each, for the loader tests.
 * FIXTURE selects the defect. Those that need a working table borrow it
 * from a real plugin (REAL_PLUGIN, dlopened), then change one thing. */
#include <dlfcn.h>
#include <string.h>

#include <zyntax/backend.h>

#define EXPORT __attribute__((visibility("default")))

/* The order of the list in CMakeLists.txt (preprocessor values, not enum). */
#define NO_SYMBOL 0
#define RETURNS_NULL 1
#define WRONG_MAJOR 2
#define TOO_SMALL 3
#define NO_NAME 4
#define MISSING_ENTRY 5
#define NEWER_MINOR 6
#define ABI_1_0 7

/* A table from a later ABI 1.x: more entries after the 1.0 ones. */
typedef struct newer_table {
  zyntax_backend v1_0;
  void (*added_in_1_1)(void);
  void (*added_in_1_2)(void);
} newer_table;

const zyntax_backend *zyntax_backend_entry(void);
const zyntax_backend *zyntax_backend_entyr(void);

#if FIXTURE == NO_SYMBOL
EXPORT const zyntax_backend *zyntax_backend_entyr(void) { return NULL; } /* a typo */
#elif FIXTURE == RETURNS_NULL
EXPORT const zyntax_backend *zyntax_backend_entry(void) { return NULL; }
#else
static void unused_entry(void) {}

static const zyntax_backend *real_table(void) {
  void *lib = dlopen(REAL_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) return NULL;
  zyntax_backend_entry_fn entry;
  *(void **)&entry = dlsym(lib, ZYNTAX_BACKEND_ENTRY_SYMBOL);
  return entry != NULL ? entry() : NULL;
}

EXPORT const zyntax_backend *zyntax_backend_entry(void) {
  static newer_table table;
  const zyntax_backend *real = real_table();
  if (real == NULL) return NULL;
  table.v1_0 = *real;
  table.added_in_1_1 = table.added_in_1_2 = unused_entry;
#if FIXTURE == WRONG_MAJOR
  table.v1_0.abi_major = ZYNTAX_BACKEND_ABI_MAJOR + 1;
#elif FIXTURE == TOO_SMALL
  table.v1_0.size = offsetof(zyntax_backend, spawn);
#elif FIXTURE == NO_NAME
  table.v1_0.name = NULL;
#elif FIXTURE == MISSING_ENTRY
  table.v1_0.blocking = NULL;
#elif FIXTURE == NEWER_MINOR
  table.v1_0.abi_minor = ZYNTAX_BACKEND_ABI_MINOR + 2;
  table.v1_0.size = sizeof table;
#elif FIXTURE == ABI_1_0
  /* An older plugin: its table ends before the entries of ABI 1.1 (the
   * real pointers still lie behind it here; the loader must not look). */
  table.v1_0.abi_minor = 0;
  table.v1_0.size = ZYNTAX_BACKEND_SIZE_1_0;
#else
#error unknown FIXTURE
#endif
  return &table.v1_0;
}
#endif
