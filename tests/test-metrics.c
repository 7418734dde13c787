/* SPDX-License-Identifier: MIT */
/* test-metrics.c: the textfile's samples, label escaping, and the atomic write. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests.h"
#include "internal.h"

static char *format(const struct endpoint_stats *st, size_t n) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        CHECK(metrics_format(f, st, n) == 0, "format");
        fclose(f);
        return buf;
}

static bool has_line(const char *text, const char *line) {
        size_t l = strlen(line);

        for (const char *p = text; (p = strstr(p, line)); p += l)
                if ((p == text || p[-1] == '\n') && p[l] == '\n')
                        return true;
        return false;
}

static void test_format(void) {
        struct endpoint_stats st[] = {
                { .name = "orders", .containers = 5, .interval_usec = 300 * USEC_PER_SEC, .have_round = true,
                  .last = { .containers = 5, .reached = 4, .sent = 22, .attempts = 3, .p50_usec = 120000,
                            .max_usec = 2500000 },
                  .last_round_realtime = UINT64_C(1700000000500000), .requests = { 30, 5, 0, 2 }, .rounds = 7,
                  .short_rounds = 1, .topups = 4, .overshoot = 12, .next_requests = 17, .reclaims = 2,
                  .lifetime_min_usec = 240 * USEC_PER_SEC, .lifetime_max_usec = 600 * USEC_PER_SEC,
                  .wanted = 3, .in_window = true },
                { .name = "we\"ird\\name", .containers = 2, .interval_usec = USEC_PER_SEC },
        };
        static const char *const want[] = {
                "# TYPE warmd_build_info gauge",
                "warmd_build_info{version=\"" PACKAGE_VERSION "\"} 1",
                "# TYPE warmd_journal_records_dropped_total counter",
                "warmd_journal_records_dropped_total 0",
                "# TYPE warmd_round_containers_reached gauge",
                "warmd_round_containers_reached{endpoint=\"orders\"} 4",
                "warmd_round_containers_target{endpoint=\"orders\"} 5",
                "warmd_round_containers_target{endpoint=\"we\\\"ird\\\\name\"} 2",
                "warmd_round_requests{endpoint=\"orders\"} 22",
                "warmd_round_attempts{endpoint=\"orders\"} 3",
                "warmd_round_next_requests{endpoint=\"orders\"} 17",
                "warmd_round_request_duration_max_seconds{endpoint=\"orders\"} 2.5",
                "warmd_last_round_timestamp_seconds{endpoint=\"orders\"} 1700000000.5",
                "warmd_interval_seconds{endpoint=\"orders\"} 300",
                "# TYPE warmd_requests_total counter",
                "warmd_requests_total{endpoint=\"orders\",result=\"warm\"} 30",
                "warmd_requests_total{endpoint=\"orders\",result=\"cold\"} 5",
                "warmd_requests_total{endpoint=\"orders\",result=\"unknown\"} 0",
                "warmd_requests_total{endpoint=\"orders\",result=\"failed\"} 2",
                "warmd_rounds_total{endpoint=\"orders\"} 7",
                "warmd_rounds_short_total{endpoint=\"orders\"} 1",
                "warmd_topups_total{endpoint=\"orders\"} 4",
                "# TYPE warmd_containers_overshoot_total counter",
                "warmd_containers_overshoot_total{endpoint=\"orders\"} 12",
                "warmd_containers_overshoot_total{endpoint=\"we\\\"ird\\\\name\"} 0",
                "warmd_reclaims_total{endpoint=\"orders\"} 2",
                "warmd_container_idle_lifetime_min_seconds{endpoint=\"orders\"} 240",
                "warmd_container_idle_lifetime_max_seconds{endpoint=\"orders\"} 600",
                "# TYPE warmd_containers_wanted gauge",
                "warmd_containers_wanted{endpoint=\"orders\"} 3",
                "warmd_containers_wanted{endpoint=\"we\\\"ird\\\\name\"} 0",
                "# TYPE warmd_schedule_in_window gauge",
                "warmd_schedule_in_window{endpoint=\"orders\"} 1",
                "warmd_schedule_in_window{endpoint=\"we\\\"ird\\\\name\"} 0",
        };
        static const char *const absent[] = {
                /* No round yet: no last-round samples, and an unknown bound is no sample rather than 0. */
                "warmd_round_containers_reached{endpoint=\"we\\\"ird\\\\name\"}",
                "warmd_last_round_timestamp_seconds{endpoint=\"we\\\"ird\\\\name\"}",
                "warmd_container_idle_lifetime_min_seconds{endpoint=\"we\\\"ird\\\\name\"}",
                "http",
                "instance",
        };
        char *text = format(st, ELEMENTSOF(st));

        CHECK(text, "formatted");
        if (!text)
                return;
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                CHECK(has_line(text, want[i]), "line '%s' in:\n%s", want[i], text);
        for (size_t i = 0; i < ELEMENTSOF(absent); i++)
                CHECK(!strstr(text, absent[i]), "'%s' absent", absent[i]);
        free(text);
}

static void test_write(void) {
        struct endpoint_stats st = { .name = "a", .containers = 1 };
        char dir[] = "/tmp/test-metrics.XXXXXX", path[64], *text, buf[8192];
        struct stat sb;
        struct dirent *de;
        unsigned files = 0;
        FILE *f;
        DIR *d;
        size_t n;

        if (!mkdtemp(dir)) {
                CHECK(false, "mkdtemp");
                return;
        }
        snprintf(path, sizeof path, "%s/warmd.prom", dir);
        CHECK(metrics_write(path, &st, 1, NULL, 0) == 0, "write");
        CHECK(metrics_write(path, &st, 1, NULL, 0) == 0, "rewrite over the old file");
        CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0644, "readable by node_exporter: %o", sb.st_mode & 0777);
        f = fopen(path, "r");
        n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
                fclose(f);
        buf[n] = '\0';
        text = format(&st, 1);
        CHECK(text && streq(buf, text), "the file holds what metrics_format() gives");
        free(text);
        d = opendir(dir);
        while (d && (de = readdir(d)))
                files += de->d_name[0] != '.' || (de->d_name[1] != '\0' && de->d_name[1] != '.');
        if (d)
                closedir(d);
        CHECK(files == 1, "no temporary file left behind: %u files", files);
        unlink(path);

        snprintf(path, sizeof path, "%s/missing/warmd.prom", dir);
        CHECK(metrics_write(path, &st, 1, NULL, 0) == -ENOENT, "a missing directory is -ENOENT");
        rmdir(dir);
}

/* Discovery sources: endpoints found and refresh errors, the label escaped; nothing without sources. */
static void test_sources(void) {
        struct source_stats src[] = {
                { .name = "fleet-eu", .endpoints = 250, .refresh_errors = 3 },
                { .name = "odd\"name", .endpoints = 0 },
        };
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        CHECK(f && metrics_format_sources(f, src, 2) == 0, "format sources");
        if (f)
                fclose(f);
        CHECK(buf && has_line(buf, "# TYPE warmd_source_endpoints gauge"), "endpoints: a gauge");
        CHECK(buf && has_line(buf, "warmd_source_endpoints{source=\"fleet-eu\"} 250"), "endpoints of fleet-eu");
        CHECK(buf && has_line(buf, "# TYPE warmd_source_refresh_errors_total counter"), "errors: a counter");
        CHECK(buf && has_line(buf, "warmd_source_refresh_errors_total{source=\"fleet-eu\"} 3"), "errors of fleet-eu");
        CHECK(buf && has_line(buf, "warmd_source_refresh_errors_total{source=\"odd\\\"name\"} 0"), "label escaped");
        free(buf);
        buf = NULL;
        f = open_memstream(&buf, &size);
        CHECK(f && metrics_format_sources(f, NULL, 0) == 0, "no sources");
        if (f)
                fclose(f);
        CHECK(buf && buf[0] == '\0', "no sources: no metric at all");
        free(buf);
}

int main(void) {
        test_format();
        test_sources();
        test_write();
        return tests_result("test-metrics");
}
