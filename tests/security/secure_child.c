/* The setuid half of loader-security-setuid: run as a setuid copy owned by
 * `nobody`, so the process is in secure-execution mode (AT_SECURE). It
 * checks that the loader then refuses an absolute plugin path and ignores
 * ZYNTAX_RUNTIME_PATH.
 *
 * Usage: zyntax-secure-child /abs/libzyntax.so.0 /abs/dir/libzyntax-backend-NAME.so
 *
 * It links no project library: in secure mode the dynamic linker ignores
 * $ORIGIN run paths outside the system's trusted folders, and the build
 * tree's absolute run path may sit in a folder `nobody` cannot enter. So
 * libzyntax is opened by absolute path from the folder the test prepared.
 * Exit: 0 pass, 1 the loader honoured what it must ignore, 3 libzyntax
 * could not be loaded, 77 not in secure mode (setuid had no effect). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include <zyntax/runtime.h>

/* The public functions used, typed from their declarations. */
static __typeof__(&zyntax_runtime_create_with) create_with;
static __typeof__(&zyntax_runtime_destroy) destroy;
static __typeof__(&zyntax_backend_probe) probe;

static int load(const char *libzyntax) {
  void *lib = dlopen(libzyntax, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    fprintf(stderr, "secure child: %s\n", dlerror());
    return -1;
  }
  create_with = (__typeof__(create_with))dlsym(lib, "zyntax_runtime_create_with");
  destroy = (__typeof__(destroy))dlsym(lib, "zyntax_runtime_destroy");
  probe = (__typeof__(probe))dlsym(lib, "zyntax_backend_probe");
  if (create_with && destroy && probe) return 0;
  fprintf(stderr, "secure child: %s lacks the public API\n", libzyntax);
  return -1;
}

static int create_error(const char *request) {
  zyntax_runtime_options o = ZYNTAX_RUNTIME_OPTIONS_INIT;
  o.backend = request;
  zyntax_runtime *rt;
  int rc = create_with(&o, &rt);
  if (rc == 0) destroy(rt);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s /abs/libzyntax.so.0 /abs/plugin.so\n", argv[0]);
    return 2;
  }
  if (getauxval(AT_SECURE) == 0) return 77;
  if (load(argv[1]) != 0) return 3;
  const char *plugin = argv[2];
  int bad = 0;
  if (create_error(plugin) != ZYNTAX_EPERM) {
    fprintf(stderr, "secure child: absolute plugin path not refused\n");
    bad = 1;
  }
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", plugin);
  *strrchr(dir, '/') = '\0';
  const char *name = strrchr(plugin, '/') + 1 + strlen("libzyntax-backend-");
  char backend[64];
  snprintf(backend, sizeof backend, "%.*s", (int)(strlen(name) - 3), name);
  setenv("ZYNTAX_RUNTIME_PATH", dir, 1); /* must be ignored */
  unsetenv("ZYNTAX_RUNTIME");
  zyntax_backend_info info = {.size = sizeof info};
  int rc = probe(backend, &info);
  if ((rc == 0 && strncmp(info.path, dir, strlen(dir)) == 0) ||
      strstr(info.message, dir) != NULL) { /* used, or even tried */
    fprintf(stderr, "secure child: ZYNTAX_RUNTIME_PATH honoured: %s %s\n",
            info.path, info.message);
    bad = 1;
  }
  return bad;
}
