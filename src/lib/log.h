/* Logging: one line per event, to stderr, with a level and the component. */
#pragma once
#include <stdarg.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_init(const char *component, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                        \
	do {                                                                  \
		if (log_get_level() >= LOG_DEBUG)                             \
			log_msg(LOG_DEBUG, __VA_ARGS__);                      \
	} while (0)
