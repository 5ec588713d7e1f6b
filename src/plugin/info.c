/* Backend introspection: probe the backend a request would choose, and list
 * every backend that is linked in or installed as a plugin. */
#include <stdio.h>
#include <string.h>

#include "dirs.h"
#include "internal.h"
#include "sized.h"
#include "plugin.h"
#include "static_registry.h"

/* Copies what is known into the caller's struct, up to its size. `name` is
 * reported when the backend itself cannot be trusted to give one. */
static void fill(zyntax_backend_info *info, const zyntax_backend *be,
                 const char *name, const char *path, const char *reason,
                 int status, const zyntax_error *err) {
  zyntax_backend_info out;
  memset(&out, 0, sizeof out);
  out.size = sizeof out;
  out.status = status;
  if (be != NULL) {
    out.abi_major = be->abi_major;
    out.abi_minor = be->abi_minor;
    if (status == 0) {
      name = be->name;
      snprintf(out.version, sizeof out.version, "%s", be->version);
    }
  }
  snprintf(out.name, sizeof out.name, "%s", name ? name : "");
  snprintf(out.path, sizeof out.path, "%s", path);
  snprintf(out.reason, sizeof out.reason, "%s", reason);
  if (status != 0 && err != NULL) snprintf(out.message, sizeof out.message, "%s", err->message);
  zx_sized_copy(info, &out, ZX_BACKEND_INFO_SIZE_1_0);
}

int zyntax_backend_probe(const char *request, zyntax_backend_info *info) {
  if (info == NULL || info->size < ZX_BACKEND_INFO_SIZE_1_0)
    return zx_fail_code(__func__, ZYNTAX_EINVAL);
  zx_choice choice;
  zyntax_error err = {0, ""};
  int rc = zx_backend_resolve(request, &choice, &err);
  fill(info, choice.backend, NULL, choice.path, choice.reason, rc, &err);
  return rc;
}

typedef struct visit_ctx {
  zyntax_backend_visit_fn visit;
  void *arg;
  int stopped;
} visit_ctx;

static int visit_plugin(const char *dir, const char *file, const char *name, void *arg) {
  visit_ctx *ctx = arg;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  const zyntax_backend *be = NULL;
  zyntax_error err = {0, ""};
  zyntax_backend_info info = {.size = sizeof info};
  int rc = zx_plugin_load(path, name, &be, &err);
  fill(&info, be, name, path, "", rc, &err);
  ctx->stopped = ctx->visit(&info, ctx->arg);
  return ctx->stopped;
}

int zyntax_backend_foreach(zyntax_backend_visit_fn visit, void *arg) {
  if (visit == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  for (const zx_static_backend *s = zx_static_backends; s->name; s++) {
    const zyntax_backend *be = NULL;
    zyntax_error err = {0, ""};
    zyntax_backend_info info = {.size = sizeof info};
    int rc = zx_plugin_validate(s->entry(), "linked-in backend", s->name, &be, &err);
    fill(&info, s->entry(), s->name, "", "", rc, &err);
    if (visit(&info, arg)) return 0;
  }
  zx_dirs dirs;
  zx_dirs_search(&dirs);
  visit_ctx ctx = {visit, arg, 0};
  zx_dirs_each_plugin(&dirs, visit_plugin, &ctx);
  return 0;
}
