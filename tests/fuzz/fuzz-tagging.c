/* SPDX-License-Identifier: MIT */
/*
 * fuzz-tagging.c: libFuzzer harness for a page of GetResources as tagging.c
 * reads it: the page parsed for the tag key "warmd", each function's ARN
 * and tag value as discover.c takes them, and the same bytes as an error
 * answer.  A page that parses has at most as many functions as the input
 * has ARNs, and each value a tag value may be.
 */
#include "config.h"

#include <stdint.h>

#include "internal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct tagging_page page;
        char why[256], name[80];
        int r;

        if (size > TAGGING_PAGE_MAX)
                return 0;
        r = tagging_page_parse((const char *) data, size, "warmd", &page, why, sizeof why);
        FUZZ_ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r == 0) {
                for (size_t i = 0; i < page.n; i++) {
                        unsigned containers = 0;
                        const char *qualifier = NULL;

                        FUZZ_ASSERT(page.items[i].arn && page.items[i].value);
                        FUZZ_ASSERT(strlen(page.items[i].value) <= 256);
                        if (tagging_tag_value(page.items[i].value, &containers, &qualifier) == 0)
                                FUZZ_ASSERT(containers >= 1 && containers <= CONTAINERS_MAX);
                        if (tagging_arn_function(page.items[i].arn, name, sizeof name) == 0)
                                FUZZ_ASSERT(strlen(name) >= 1 && strlen(name) <= 64);
                }
                FUZZ_ASSERT(!page.next_token || (page.next_token[0] && strlen(page.next_token) <= 2048));
                tagging_page_done(&page);
        } else
                FUZZ_ASSERT(why[0]);
        tagging_error(400, NULL, (const char *) data, size, why, sizeof why);
        FUZZ_ASSERT(strncmp(why, "HTTP 400", 8) == 0);
        return 0;
}
