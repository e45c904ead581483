/* gc.h — `hdp run gc`: old manifests and orphan curated files (see gc.c). */
#ifndef HDP_GC_H
#define HDP_GC_H

#include "core/stage.h"

extern const hdp_stage gc_stage;

#endif
