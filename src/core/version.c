#include "zyntax/version.h"

unsigned zyntax_version(void) { return ZYNTAX_VERSION_HEX; }

const char *zyntax_version_string(void) { return ZYNTAX_VERSION_STRING; }
