/* stages.h — every stage of the platform, registered once. Commands find stages here by name;
 * the batch DAG is the order of batch_dag[]. Adding a stage adds a folder and a line here. */
#ifndef HDP_STAGES_H
#define HDP_STAGES_H

#include "core/stage.h"

/* The batch DAG, in order (NULL-terminated): each task reads what the one before wrote. */
extern const hdp_stage *const batch_dag[];

/* A stage by name, or NULL. */
const hdp_stage *stage_find(const char *name);

#endif
