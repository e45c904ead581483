#include "gen/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "gen/cities.h"

const char *const gen_categories[] = {
    "Electronics", "Books",       "Clothing",  "Home & Kitchen", "Garden",     "Toys",
    "Sports",      "Beauty",      "Health",    "Grocery",        "Automotive", "Music",
    "Movies",      "Video Games", "Office",    "Pet Supplies",   "Baby",       "Jewelry",
    "Shoes",       "Tools",       "Furniture", "Art & Crafts",   "Luggage",    "Outdoors",
};
const size_t gen_ncategories = sizeof(gen_categories) / sizeof(gen_categories[0]);

/* Nouns per category, in the order of gen_categories. */
static const char *const nouns[][4] = {
    {"Headphones", "Charger", "Speaker", "Monitor"},  {"Novel", "Cookbook", "Atlas", "Memoir"},
    {"T-Shirt", "Jacket", "Hoodie", "Scarf"},         {"Kettle", "Pan", "Knife Set", "Toaster"},
    {"Hose", "Planter", "Shears", "Seed Kit"},        {"Puzzle", "Robot", "Doll", "Blocks"},
    {"Yoga Mat", "Dumbbell", "Racket", "Ball"},       {"Serum", "Lipstick", "Cream", "Perfume"},
    {"Vitamins", "Thermometer", "Bandage", "Scale"},  {"Coffee", "Olive Oil", "Tea", "Pasta"},
    {"Wiper", "Car Mat", "Jump Starter", "Polish"},   {"Vinyl", "Guitar Strings", "CD", "Ukulele"},
    {"Blu-ray", "DVD Box", "Film Poster", "4K Disc"}, {"Controller", "Game", "Headset", "Console"},
    {"Notebook", "Stapler", "Pen Set", "Desk Lamp"},  {"Dog Bed", "Cat Tree", "Leash", "Aquarium"},
    {"Stroller", "Bottle", "Onesie", "Crib Mobile"},  {"Necklace", "Ring", "Bracelet", "Earrings"},
    {"Sneakers", "Boots", "Sandals", "Loafers"},      {"Drill", "Wrench Set", "Saw", "Level"},
    {"Chair", "Bookshelf", "Desk", "Sofa"},           {"Paint Set", "Easel", "Yarn", "Canvas"},
    {"Suitcase", "Backpack", "Duffel", "Travel Bag"}, {"Tent", "Sleeping Bag", "Lantern", "Stove"},
};

static const char *const adjectives[] = {
    "Classic", "Smart",   "Compact", "Premium",  "Eco",    "Ultra",  "Deluxe", "Pro",
    "Mini",    "Vintage", "Modern",  "Portable", "Rugged", "Silent", "Bright", "Cozy",
};
#define NADJ (sizeof(adjectives) / sizeof(adjectives[0]))

static const char *const first_names[] = {
    "Anna",  "Ben",    "Carla", "David",  "Elena", "Felix", "Grace", "Hugo",  "Ines",  "Jonas",
    "Kira",  "Liam",   "Maria", "Noah",   "Olga",  "Pablo", "Quinn", "Rosa",  "Sven",  "Tara",
    "Umar",  "Vera",   "Wei",   "Ximena", "Yuki",  "Zoe",   "Amir",  "Chloe", "Diego", "Emma",
    "Farah", "Giulia", "Hana",  "Ivan",   "Jana",  "Kenji", "Lena",  "Mateo", "Nadia", "Omar",
};
static const char *const last_names[] = {
    "Smith",  "Muller", "Garcia",   "Rossi",   "Novak",   "Kim",     "Silva",   "Tanaka",
    "Dubois", "Jensen", "Kowalski", "Ivanova", "Nguyen",  "Patel",   "Cohen",   "Santos",
    "Weber",  "Moreau", "Larsen",   "Horvat",  "Popescu", "Schmidt", "Fischer", "Lopez",
    "Brown",  "Wilson", "Haddad",   "Okafor",  "Yilmaz",  "Berg",    "Costa",   "Walsh",
};
#define NFIRST (sizeof(first_names) / sizeof(first_names[0]))
#define NLAST  (sizeof(last_names) / sizeof(last_names[0]))

static char *lower_dup(const char *s)
{
    char *d = xstrdup(s);
    for (char *q = d; *q; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q - 'A' + 'a');
    return d;
}

void catalog_new_customer(gen_prng *p, int64_t id, gen_customer *c)
{
    const char *first = first_names[prng_below(p, NFIRST)];
    const char *last = last_names[prng_below(p, NLAST)];
    const gen_city *city = &gen_cities[prng_below(p, gen_ncities)];
    hdp_buf b = HDP_BUF_INIT;
    buf_printf(&b, "%s %s", first, last);
    c->id = id;
    c->name = buf_detach(&b);
    char *lf = lower_dup(first);
    char *ll = lower_dup(last);
    buf_printf(&b, "%s.%s%lld@example.com", lf, ll, (long long)id);
    c->email = buf_detach(&b);
    free(lf);
    free(ll);
    c->city = xstrdup(city->name);
    c->country = xstrdup(city->country);
}

/* Prices cluster where shops have them: many cheap things, fewer expensive ones. */
static int64_t draw_price(gen_prng *p)
{
    uint64_t band = prng_below(p, 100);
    if (band < 50)
        return prng_range(p, GEN_PRICE_MIN, 4999);
    if (band < 85)
        return prng_range(p, 5000, 24999);
    return prng_range(p, 25000, GEN_PRICE_MAX);
}

static char *product_name(gen_prng *p, size_t cat)
{
    hdp_buf b = HDP_BUF_INIT;
    buf_printf(&b, "%s %s %u", adjectives[prng_below(p, NADJ)], nouns[cat][prng_below(p, 4)],
               (unsigned)prng_range(p, 100, 999));
    return buf_detach(&b);
}

void catalog_new_product(gen_prng *p, int64_t id, gen_product *pr)
{
    size_t cat = (size_t)((uint64_t)id % gen_ncategories);
    hdp_buf b = HDP_BUF_INIT;
    buf_printf(&b, "HDP-%03zu-%08lld", cat, (long long)id);
    pr->id = id;
    pr->sku = buf_detach(&b);
    pr->name = product_name(p, cat);
    pr->category = xstrdup(gen_categories[cat]);
    pr->price = draw_price(p);
}

void catalog_move_customer(gen_prng *p, gen_customer *c)
{
    size_t i = prng_below(p, gen_ncities);
    if (strcmp(gen_cities[i].name, c->city) == 0)
        i = (i + 1 + prng_below(p, gen_ncities - 1)) % gen_ncities;
    free(c->city);
    free(c->country);
    c->city = xstrdup(gen_cities[i].name);
    c->country = xstrdup(gen_cities[i].country);
}

void catalog_change_product(gen_prng *p, gen_product *pr)
{
    size_t cat = 0;
    while (cat < gen_ncategories && strcmp(gen_categories[cat], pr->category) != 0)
        cat++;
    if (cat == gen_ncategories) /* a category we did not create: keep a generic noun */
        cat = (size_t)((uint64_t)pr->id % gen_ncategories);
    free(pr->name);
    pr->name = product_name(p, cat);

    int64_t pct = prng_range(p, 5, 30);
    int64_t delta = pr->price * pct / 100;
    if (delta < 1)
        delta = 1;
    int64_t price = prng_chance(p, 5000) ? pr->price + delta : pr->price - delta;
    if (price < GEN_PRICE_MIN)
        price = pr->price + delta;
    if (price > GEN_PRICE_MAX)
        price = pr->price - delta;
    if (price < GEN_PRICE_MIN || price > GEN_PRICE_MAX || price == pr->price)
        price = pr->price == GEN_PRICE_MIN ? GEN_PRICE_MIN + 1 : GEN_PRICE_MIN;
    pr->price = price;
}
