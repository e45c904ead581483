/* marts.h — `hdp run marts`: Data Vault -> ClickHouse facts (see marts.c). */
#ifndef HDP_MARTS_H
#define HDP_MARTS_H

#include <stddef.h>
#include <stdio.h>

#include "core/config.h"
#include "core/stage.h"

extern const hdp_stage marts_stage;

/* `hdp reconcile`'s check of the marts: for every segment up to the marts' progress, the
 * ClickHouse facts against the vault (computed another way), and the line facts against the
 * order facts. Prints one MISMATCH line per difference to report; *segments receives how many
 * segments were compared. HDP_OK also when mismatches were found (*mismatches says). */
int marts_check(const hdp_config *cfg, FILE *report, size_t *segments, size_t *mismatches,
                hdp_err *e);

#endif
