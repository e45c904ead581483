/* cities.h — a static table of real cities of the world with their country, for customers'
 * addresses. Names are UTF-8; some are not ASCII on purpose ("São Paulo", "Kraków"). */
#ifndef HDP_GEN_CITIES_H
#define HDP_GEN_CITIES_H

#include <stddef.h>

typedef struct gen_city {
    const char *name;
    const char *country;
} gen_city;

extern const gen_city gen_cities[];
extern const size_t gen_ncities;

/* Index of the city named name in gen_cities, or -1. */
int gen_city_find(const char *name);

#endif
