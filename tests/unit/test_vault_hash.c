/* Hash keys and hashdiffs: the standard string and its MD5. The same strings are checked
 * against PostgreSQL's own md5() in tests/integration/test_vault.py. */
#include "unit.h"

#include <stdio.h>

#include "vault/vault_hash.h"

static void hex(const uint8_t k[VH_LEN], char out[33])
{
    for (int i = 0; i < VH_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", k[i]);
}

static void test_single_integer_key(void **state)
{
    (void)state;
    vh_builder h;
    vh_init(&h);
    vh_begin(&h);
    vh_i64(&h, 42);
    uint8_t k[VH_LEN];
    vh_end(&h, k);
    char x[33];
    hex(k, x);
    assert_string_equal(vh_text(&h, NULL), "42");
    assert_string_equal(x, "a1d0c6e83f027327d8461063f4ac58a6");
    vh_free(&h);
}

static void test_parts_trim_upper_null(void **state)
{
    (void)state;
    vh_builder h;
    vh_init(&h);
    vh_begin(&h);
    vh_str(&h, " \tMünchen\r\n ", strlen(" \tMünchen\r\n "));
    vh_str(&h, NULL, 0);
    vh_str(&h, "École", strlen("École"));
    uint8_t k[VH_LEN];
    vh_end(&h, k);
    char x[33];
    hex(k, x);
    /* ASCII letters only: ü and É stay as they are */
    assert_string_equal(vh_text(&h, NULL), "MüNCHEN||^^||ÉCOLE");
    assert_string_equal(x, "85a7c61eac839ff98d7738a78722f251");
    vh_free(&h);
}

static void test_typed_parts(void **state)
{
    (void)state;
    vh_builder h;
    vh_init(&h);
    /* the builder is reused: a second key does not see the first one's parts */
    vh_begin(&h);
    vh_str(&h, "ignored", 7);
    vh_begin(&h);
    vh_money(&h, 1250);
    vh_ts(&h, 1795428000LL * 1000000); /* 2026-11-23T10:00:00Z */
    vh_bool(&h, 1);
    vh_i64(&h, -7);
    uint8_t k[VH_LEN];
    vh_end(&h, k);
    char x[33];
    hex(k, x);
    assert_string_equal(vh_text(&h, NULL), "12.50||2026-11-23T10:00:00.000000Z||TRUE||-7");
    assert_string_equal(x, "913629655fa2f3b70a80dbdaa2c05a46");
    vh_free(&h);
}

static void test_empty_and_all_space_parts(void **state)
{
    (void)state;
    vh_builder h;
    vh_init(&h);
    vh_begin(&h);
    vh_str(&h, "   ", 3);
    vh_str(&h, "", 0);
    assert_string_equal(vh_text(&h, NULL), "||");
    vh_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_integer_key), cmocka_unit_test(test_parts_trim_upper_null),
        cmocka_unit_test(test_typed_parts),        cmocka_unit_test(test_empty_and_all_space_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
