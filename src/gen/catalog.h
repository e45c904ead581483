/* catalog.h — deterministic names for new customers and products, and the changes that give
 * them history (a customer moves city; a product is renamed and repriced). Pure: every choice
 * comes from the PRNG passed in. */
#ifndef HDP_GEN_CATALOG_H
#define HDP_GEN_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "gen/model.h"
#include "gen/prng.h"

#define GEN_PRICE_MIN 99    /* 0.99 */
#define GEN_PRICE_MAX 99999 /* 999.99 */

extern const char *const gen_categories[];
extern const size_t gen_ncategories;

/* Fills c (a zeroed slot) as a new customer with this id: name, email, a city of the table. */
void catalog_new_customer(gen_prng *p, int64_t id, gen_customer *c);

/* Fills pr (a zeroed slot) as a new product with this id. Categories go round-robin by id so
 * every category is used once there are as many products as categories. */
void catalog_new_product(gen_prng *p, int64_t id, gen_product *pr);

/* Moves c to another city of the table (never the one it lives in). */
void catalog_move_customer(gen_prng *p, gen_customer *c);

/* Renames pr and changes its price by 5-30 % up or down, within the price range; the new
 * price always differs from the old one. */
void catalog_change_product(gen_prng *p, gen_product *pr);

#endif
