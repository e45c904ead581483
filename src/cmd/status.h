/* status.h — the parts of `hdp status` beyond the consumers and services (cmd_status.c).
 * Each appends its object ("batch": {...}, "lake": {...}) to json and its lines to text, and
 * adds to *problems what needs an operator's attention (a failed task, a stopped table). */
#ifndef HDP_CMD_STATUS_H
#define HDP_CMD_STATUS_H

#include "core/buf.h"
#include "core/config.h"

void status_batch(const hdp_config *cfg, hdp_buf *json, hdp_buf *text, int *problems);
void status_lake(const hdp_config *cfg, hdp_buf *json, hdp_buf *text, int *problems);

#endif
