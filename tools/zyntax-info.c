/* zyntax-info: the library version, every backend it can see (linked in or
 * installed as a plugin, with path, version and ABI, or why it is refused),
 * and which one a runtime created now would use, and why. The first thing
 * to run when a backend will not load. Exit status: 0 when that choice is
 * usable, 1 otherwise, 2 for a bad command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zyntax/backend.h>
#include <zyntax/runtime.h>

static int print_backend(const zyntax_backend_info *b, void *arg) {
  int *count = arg;
  ++*count;
  const char *where = b->path[0] ? b->path : "(linked into libzyntax)";
  if (b->status == 0)
    printf("  %-8s %-16s ABI %u.%u  %s\n", b->name, b->version, b->abi_major,
           b->abi_minor, where);
  else
    printf("  %-8s REFUSED (%s)  %s\n      %s\n", b->name, zyntax_err_name(b->status),
           where, b->message);
  return 0;
}

static void usage(FILE *to) {
  fputs("usage: zyntax-info [BACKEND]\n"
        "Lists the backends libzyntax can see and which one a runtime would use.\n"
        "  BACKEND     a name (uv, ev, tokio) or an absolute plugin path, checked\n"
        "              as a request; without it, the choice ZYNTAX_RUNTIME or\n"
        "              the build's default makes\n"
        "  -h, --help  print this and exit\n"
        "Exit status: 0 the choice is usable, 1 it is not, 2 bad arguments.\n",
        to);
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    usage(stdout);
    return 0;
  }
  /* No backend name or plugin path starts with '-': it is an option. */
  if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
    if (argc == 2) fprintf(stderr, "zyntax-info: unknown option '%s'\n", argv[1]);
    else fprintf(stderr, "zyntax-info: one BACKEND at most\n");
    usage(stderr);
    return 2;
  }
  const char *request = argc > 1 ? argv[1] : NULL;
  printf("libzyntax %s (backend ABI %d.%d)\n", zyntax_version_string(),
         ZYNTAX_BACKEND_ABI_MAJOR, ZYNTAX_BACKEND_ABI_MINOR);
  printf("backends:\n");
  int count = 0;
  zyntax_backend_foreach(print_backend, &count);
  if (count == 0) printf("  none found\n");

  zyntax_backend_info *choice = calloc(1, sizeof *choice);
  if (choice == NULL) return 1;
  choice->size = sizeof *choice;
  int rc = zyntax_backend_probe(request, choice);
  printf("chosen%s: ", request ? " for the request" : " now");
  if (rc == 0)
    printf("%s (%s) %s\n  because %s\n", choice->name, choice->version,
           choice->path[0] ? choice->path : "(linked in)", choice->reason);
  else
    printf("none - %s\n  %s\n  because %s\n", zyntax_err_name(rc), choice->message,
           choice->reason);
  free(choice);
  return rc == 0 ? 0 : 1;
}
