#include "core/stage.h"

#include <string.h>

void stage_report_clear(stage_report *r)
{
    memset(r, 0, sizeof(*r));
    r->seg_first = r->seg_last = -1;
}
