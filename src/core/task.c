/* Public task-handle functions: dispatch through the task's own ops, so a
 * handle works even where its runtime pointer is not at hand. */
#include <stddef.h>

#include "internal.h"

void *zyntax_task_state(const zyntax_task *task) {
  if (task == NULL) {
    zx_fail_code(__func__, ZYNTAX_EINVAL);
    return NULL;
  }
  return task->ops->state(task);
}

int zyntax_task_status(const zyntax_task *task) {
  if (task == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  if (zx_task_check_forked(task, __func__) != 0) return ZYNTAX_EFORKED;
  return task->ops->status(task);
}

int zyntax_task_cancel(zyntax_task *task) {
  if (task == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  if (zx_task_check_forked(task, __func__) != 0) return ZYNTAX_EFORKED;
  int rc = task->ops->cancel(task);
  return rc < 0 ? zx_fail_code(__func__, rc) : rc;
}

/* A backend's release fails only for a handle given back twice (misuse
 * it may detect while the task lives on): recorded, as nothing returns it. */
void zyntax_task_drop(zyntax_task *task) {
  if (task == NULL) return;
  if (zx_task_check_forked(task, __func__) != 0) return;
  int rc = task->ops->release(task);
  if (rc < 0) zx_fail_code(__func__, rc);
}

int zyntax_task_join_future(zyntax_task *task, zyntax_future **out) {
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  *out = NULL;
  if (task == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  if (zx_task_check_forked(task, __func__) != 0) return ZYNTAX_EFORKED;
  int rc = task->ops->join(task, out);
  if (rc != 0) *out = NULL;
  return rc == 0 ? 0 : zx_fail_code(__func__, rc);
}
