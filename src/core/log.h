/* log.h — one-line structured logs on stderr: time, level, component, message.
 * Secrets never reach the log: callers log DSNs through config_redact(). */
#ifndef HDP_LOG_H
#define HDP_LOG_H

enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(int level);
int log_level_parse(const char *s); /* -1 when unknown */
void log_set_component(const char *name);
const char *log_component(void); /* "" when none was set */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
