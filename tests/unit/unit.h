/* unit.h — what every cmocka unit test includes. */
#ifndef HDP_UNIT_H
#define HDP_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#endif
