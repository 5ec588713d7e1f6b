/* ZYNTAX_EXTERN can be defined before the headers (as UV_EXTERN can): were
 * the headers to define it unconditionally, this TU would not compile
 * warning-free (a macro redefinition), and the -Werror presets fail it. */
#define ZYNTAX_EXTERN extern __attribute__((visibility("default")))
#include <zyntax/runtime.h>

/* Uses a declaration made with the caller's macro. */
const char *zyntax_abi_test_version(void);
const char *zyntax_abi_test_version(void) { return zyntax_version_string(); }
