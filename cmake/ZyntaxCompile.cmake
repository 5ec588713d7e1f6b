# Warning and sanitizer flags shared by every target of the project.

set(ZYNTAX_WARNING_FLAGS -Wall -Wextra -Wshadow -Wstrict-prototypes
    -Wmissing-prototypes -Wno-unused-parameter)
if(ZYNTAX_WERROR)
  list(APPEND ZYNTAX_WARNING_FLAGS -Werror)
endif()

if(ZYNTAX_SANITIZE)
  add_compile_options(-fsanitize=${ZYNTAX_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${ZYNTAX_SANITIZE})
endif()

find_package(Threads REQUIRED)

# zyntax_target_defaults(TARGET): project warnings, the public headers.
function(zyntax_target_defaults target)
  target_compile_options(${target} PRIVATE ${ZYNTAX_WARNING_FLAGS})
  # POSIX/GNU interfaces (pthread_rwlock_t in uv.h, secure_getenv, dladdr)
  # in strict C11 mode. Defined empty, like a source's own `#define
  # _GNU_SOURCE`, so the two never conflict.
  target_compile_definitions(${target} PRIVATE _GNU_SOURCE=)
  target_link_libraries(${target} PRIVATE zyntax_api)
endfunction()
