#include "orchestrate/stages.h"

#include <string.h>

#include "batch/compact.h"
#include "capture/capture.h"
#include "gc/gc.h"
#include "marts/marts.h"
#include "notify/notify.h"
#include "publish/publish.h"
#include "speed/speed_stage.h"
#include "vault/vault_load.h"

const hdp_stage *const batch_dag[] = {&compact_stage, &vault_task, &marts_stage, &publish_stage,
                                      NULL};

static const hdp_stage *const streams[] = {&capture_stage, &speed_stage, NULL};

/* Tasks outside the DAG, run on their own (`hdp run notify`, the scheduler after each run). */
static const hdp_stage *const others[] = {&notify_stage, &gc_stage, NULL};

const hdp_stage *stage_find(const char *name)
{
    for (size_t i = 0; batch_dag[i]; i++)
        if (strcmp(batch_dag[i]->name, name) == 0)
            return batch_dag[i];
    for (size_t i = 0; streams[i]; i++)
        if (strcmp(streams[i]->name, name) == 0)
            return streams[i];
    for (size_t i = 0; others[i]; i++)
        if (strcmp(others[i]->name, name) == 0)
            return others[i];
    return NULL;
}
