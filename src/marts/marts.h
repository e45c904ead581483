/* marts.h — `hdp run marts`: Data Vault -> ClickHouse facts (see marts.c). */
#ifndef HDP_MARTS_H
#define HDP_MARTS_H

#include "core/stage.h"

extern const hdp_stage marts_stage;

#endif
