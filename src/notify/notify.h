/* notify.h — the notify stage and what its users share: is Telegram configured, where to. */
#ifndef HDP_NOTIFY_H
#define HDP_NOTIFY_H

#include "core/config.h"
#include "core/stage.h"
#include "io/telegram.h"

extern const hdp_stage notify_stage;

/* TELEGRAM_TOKEN and TELEGRAM_CHAT_ID are both set. */
int notify_enabled(const hdp_config *cfg);
tg_target notify_target(const hdp_config *cfg);

#endif
