/* publish.h — `hdp run publish`: the batch watermark W (see publish.c). */
#ifndef HDP_PUBLISH_H
#define HDP_PUBLISH_H

#include "core/stage.h"

extern const hdp_stage publish_stage;

#endif
