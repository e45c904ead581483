/* manifest_io.h — reading what compaction published, for compaction itself and for the
 * loaders downstream of it (the vault): the newest manifest of a table, and the segments
 * compaction has finished for every table (_state/compact.json). */
#ifndef HDP_BATCH_MANIFEST_IO_H
#define HDP_BATCH_MANIFEST_IO_H

#include "batch/manifest.h"
#include "core/err.h"
#include "io/lake.h"

/* Key of version `version` of table's manifest (out needs 160 bytes). */
void manifest_key(char *out, size_t n, const char *table, int64_t version);

/* The newest manifest of table into a zeroed m (version 0 and empty when none). */
int manifest_load_latest(hdp_lake *lk, const char *table, manifest *m, hdp_err *e);

/* The segments compaction finished for every table their objects touch, as cached in
 * _state/compact.json, added to done (empty when absent; an unreadable file is warned about
 * and counts as empty). */
int compact_state_load(hdp_lake *lk, seg_set *done, hdp_err *e);

#endif
