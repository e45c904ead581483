#include "gen/model.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

gen_customer *dims_add_customer(gen_dims *d)
{
    if (d->ncust == d->capcust) {
        d->capcust = d->capcust ? d->capcust * 2 : 1024;
        d->cust = xrealloc(d->cust, d->capcust * sizeof(*d->cust));
    }
    gen_customer *c = &d->cust[d->ncust++];
    memset(c, 0, sizeof(*c));
    return c;
}

gen_product *dims_add_product(gen_dims *d)
{
    if (d->nprod == d->capprod) {
        d->capprod = d->capprod ? d->capprod * 2 : 256;
        d->prod = xrealloc(d->prod, d->capprod * sizeof(*d->prod));
    }
    gen_product *p = &d->prod[d->nprod++];
    memset(p, 0, sizeof(*p));
    return p;
}

void dims_free(gen_dims *d)
{
    for (size_t i = 0; i < d->ncust; i++) {
        free(d->cust[i].name);
        free(d->cust[i].email);
        free(d->cust[i].city);
        free(d->cust[i].country);
    }
    for (size_t i = 0; i < d->nprod; i++) {
        free(d->prod[i].sku);
        free(d->prod[i].name);
        free(d->prod[i].category);
    }
    free(d->cust);
    free(d->prod);
    memset(d, 0, sizeof(*d));
}
