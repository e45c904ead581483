#include "core/segment.h"

#include "core/timeutil.h"

int64_t segment_of(int64_t commit_unix_us, int64_t seconds, int64_t prev)
{
    int64_t s = floor_div(commit_unix_us, seconds * USEC_PER_SEC);
    return s > prev ? s : prev;
}

int64_t segment_end_us(int64_t seg, int64_t seconds)
{
    return (seg + 1) * seconds * USEC_PER_SEC;
}

int segment_heartbeat_due(int64_t seg, int64_t seconds, int64_t now_unix_us, int64_t now_mono_us,
                          int64_t last_beat_mono_us)
{
    if (seg < 0)
        return 0;
    return now_unix_us >= segment_end_us(seg, seconds) + 200000 &&
           now_mono_us - last_beat_mono_us >= USEC_PER_SEC;
}
