/* zyntax-info: the library version, every backend it can see (linked in or
 * installed as a plugin, with path, version and ABI, or why it is refused),
 * and which one a runtime created now would use, and why. The first thing
 * to run when a backend will not load. Exit status: 0 when that choice is
 * usable, 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>

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

int main(int argc, char **argv) {
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
