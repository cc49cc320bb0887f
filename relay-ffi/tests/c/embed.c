/*
 * embed.c: a C program that knows only relay.h and the library. It starts an engine on
 * 127.0.0.1:0, loads a catalog whose channel points at the origin given on the command line,
 * fetches /playlist.m3u8 and the channel's stream over a socket, hangs up on a live stream (no
 * SIGPIPE may reach this process), rewrites an HLS playlist through relay_hls_rewrite (including
 * the too-small-buffer path), stops and frees. An event callback must see the fetched stream's
 * viewer connect and disconnect (with its bytes), and every viewer and upstream closed by the
 * stop.
 *
 * usage: embed ORIGIN_HOST:PORT STREAM_BYTES
 * Built and run by relay-ffi/tests/c_programs.rs (ASan + UBSan) and relay-ffi/tests/valgrind.sh.
 * Prints "embed: ok" and exits 0 when every check passes; otherwise says what failed, exits 1.
 */
#define _POSIX_C_SOURCE 200809L

#include "relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void fail_result(const char *what, relay_result r) {
    char why[160];
    size_t n = relay_result_describe(r, why, sizeof why);
    fprintf(stderr, "embed: FAIL %s: %u (%.*s)\n", what, (unsigned)r, (int)n, why);
    exit(1);
}

#define CHECK(call)                                                                            \
    do {                                                                                       \
        relay_result r_ = (call);                                                              \
        if (r_ != RELAY_RESULT_OK) fail_result(#call, r_);                                     \
    } while (0)

#define EXPECT_RESULT(call, want)                                                              \
    do {                                                                                       \
        relay_result r_ = (call);                                                              \
        if (r_ != (want)) fail_result(#call " (expected " #want ")", r_);                      \
    } while (0)

#define EXPECT(cond)                                                                           \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "embed: FAIL line %d: %s\n", __LINE__, #cond);                     \
            exit(1);                                                                           \
        }                                                                                      \
    } while (0)

/* ---- log callback: counts lines; called from relay threads, so only atomics here ---- */

static atomic_size_t log_lines;

static void on_log(void *userdata, relay_log_level level, const char *message, size_t len) {
    atomic_size_t *count = userdata;
    atomic_fetch_add(count, 1);
    fprintf(stderr, "relay log [%u] %.*s\n", (unsigned)level, (int)len, message);
}

/* ---- event callback: called from relay threads, concurrently, so only atomics, and texts
 * copied before the counter that publishes them is bumped ---- */

struct events {
    relay_engine *engine;
    atomic_uint connected, disconnected;               /* viewers with their own upstream */
    atomic_uint shared_connected, shared_disconnected; /* viewers of shared channels */
    atomic_uint opened, closed;                        /* upstreams, both kinds */
    atomic_uint reentry_refused, unknown;
    atomic_ullong bytes; /* of the (one) own-upstream viewer's disconnect */
    char channel[64], peer[RELAY_EVENT_MAX_PEER_BYTES], reason[64];
    size_t channel_len, peer_len, reason_len;
};

static size_t copy_text(char *dst, size_t cap, const char *src, size_t len) {
    if (len > cap) len = cap;
    memcpy(dst, src, len);
    return len;
}

/* Engine functions are refused inside a callback (there they could deadlock). */
static void check_reentry(struct events *ev) {
    char addr[64];
    size_t n = 0;
    if (relay_engine_local_addr(ev->engine, addr, sizeof addr, &n) ==
        RELAY_RESULT_CALLED_FROM_CALLBACK)
        atomic_fetch_add(&ev->reentry_refused, 1);
}

static void on_event(void *userdata, const relay_event *e) {
    struct events *ev = userdata;
    fprintf(stderr, "relay event [%u] %.*s peer=%.*s shared=%d bytes=%llu reason=%.*s\n",
            (unsigned)e->kind, (int)e->channel_len, e->channel, (int)e->peer_len, e->peer,
            (int)e->shared, (unsigned long long)e->bytes, (int)e->reason_len, e->reason);
    switch (e->kind) {
    case RELAY_EVENT_KIND_VIEWER_CONNECTED:
        if (e->shared) {
            atomic_fetch_add(&ev->shared_connected, 1);
        } else {
            ev->channel_len = copy_text(ev->channel, sizeof ev->channel, e->channel, e->channel_len);
            ev->peer_len = copy_text(ev->peer, sizeof ev->peer, e->peer, e->peer_len);
            atomic_fetch_add(&ev->connected, 1);
        }
        check_reentry(ev);
        break;
    case RELAY_EVENT_KIND_VIEWER_DISCONNECTED:
        if (e->shared) {
            atomic_fetch_add(&ev->shared_disconnected, 1);
        } else {
            ev->reason_len = copy_text(ev->reason, sizeof ev->reason, e->reason, e->reason_len);
            atomic_store(&ev->bytes, e->bytes);
            atomic_fetch_add(&ev->disconnected, 1);
        }
        break;
    case RELAY_EVENT_KIND_UPSTREAM_OPENED: atomic_fetch_add(&ev->opened, 1); break;
    case RELAY_EVENT_KIND_UPSTREAM_CLOSED: atomic_fetch_add(&ev->closed, 1); break;
    default: atomic_fetch_add(&ev->unknown, 1); break;
    }
}

/* ---- a tiny HTTP/1.1 client over a socket ---- */

struct response {
    char *bytes; /* head + body, NUL-terminated for strstr */
    size_t len;
    const char *body;
    size_t body_len;
};

/* Splits "HOST:PORT" (IPv4; `len` bytes, not NUL-terminated) into a sockaddr. */
static void parse_addr(const char *text, size_t len, struct sockaddr_in *sa) {
    char copy[64];
    EXPECT(len < sizeof copy);
    memcpy(copy, text, len);
    copy[len] = '\0';
    char *colon = strrchr(copy, ':');
    EXPECT(colon != NULL);
    *colon = '\0';
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((unsigned short)atoi(colon + 1));
    EXPECT(inet_pton(AF_INET, copy, &sa->sin_addr) == 1);
}

static struct response http_get(const struct sockaddr_in *sa, const char *path) {
    struct response resp = {0};
    size_t cap = 64 * 1024;
    char request[512];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT(fd >= 0);
    EXPECT(connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0);
    int n = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n", path);
    EXPECT(n > 0 && (size_t)n < sizeof request);
    EXPECT(write(fd, request, (size_t)n) == n);
    resp.bytes = malloc(cap + 1);
    EXPECT(resp.bytes != NULL);
    for (;;) {
        if (resp.len == cap) {
            cap *= 2;
            resp.bytes = realloc(resp.bytes, cap + 1);
            EXPECT(resp.bytes != NULL);
        }
        ssize_t got = read(fd, resp.bytes + resp.len, cap - resp.len);
        EXPECT(got >= 0);
        if (got == 0) break;
        resp.len += (size_t)got;
    }
    close(fd);
    resp.bytes[resp.len] = '\0';
    const char *end = strstr(resp.bytes, "\r\n\r\n");
    EXPECT(end != NULL);
    resp.body = end + 4;
    resp.body_len = resp.len - (size_t)(resp.body - resp.bytes);
    return resp;
}

/* ---- the URI mapper for relay_hls_rewrite ---- */

struct mapper_state {
    int calls;
    relay_hls_kind kinds[8];
    char seen[8][128]; /* the resolved URIs the mapper was given */
};

static relay_result record(struct mapper_state *st, relay_hls_kind kind, const char *uri,
                           size_t uri_len, char *out, size_t out_len, size_t *out_n) {
    char mapped[64];
    int slot = st->calls % 8;
    int n = snprintf(mapped, sizeof mapped, "http://relay.test/r/%d", slot);
    if (n < 0 || (size_t)n > out_len) return RELAY_RESULT_INSUFFICIENT_SIZE;
    if (uri_len < sizeof st->seen[0]) {
        memcpy(st->seen[slot], uri, uri_len);
        st->seen[slot][uri_len] = '\0';
    }
    st->kinds[slot] = kind;
    memcpy(out, mapped, (size_t)n); /* no NUL: pointer + length */
    *out_n = (size_t)n;
    st->calls++;
    return RELAY_RESULT_OK;
}

static relay_result map_uri(void *userdata, const char *uri, size_t uri_len, char *out,
                            size_t out_len, size_t *out_n) {
    return record(userdata, 0, uri, uri_len, out, out_len, out_n);
}

static relay_result map_uri_kind(void *userdata, relay_hls_kind kind, const char *uri,
                                 size_t uri_len, char *out, size_t out_len, size_t *out_n) {
    return record(userdata, kind, uri, uri_len, out, out_len, out_n);
}

static void check_hls_rewrite(void) {
    static const char playlist[] = "#EXTM3U\n"
                                   "#EXT-X-TARGETDURATION:4\n"
                                   "#EXT-X-KEY:METHOD=AES-128,URI=\"key.bin\",IV=0x01\n"
                                   "#EXT-X-MAP:URI=\"init.mp4\"\n"
                                   "#EXTINF:4.0,\n"
                                   "seg1.ts\n"
                                   "#X-UNKNOWN-TAG:kept as it is\n"
                                   "#EXTINF:4.0,\r\n"
                                   "/abs/seg2.ts?x=1\r\n"
                                   "#EXT-X-ENDLIST\n";
    static const char expected[] = "#EXTM3U\n"
                                   "#EXT-X-TARGETDURATION:4\n"
                                   "#EXT-X-KEY:METHOD=AES-128,URI=\"http://relay.test/r/0\",IV=0x01\n"
                                   "#EXT-X-MAP:URI=\"http://relay.test/r/1\"\n"
                                   "#EXTINF:4.0,\n"
                                   "http://relay.test/r/2\n"
                                   "#X-UNKNOWN-TAG:kept as it is\n"
                                   "#EXTINF:4.0,\r\n"
                                   "http://relay.test/r/3\r\n"
                                   "#EXT-X-ENDLIST\n";
    static const char base[] = "http://origin.test/live/index.m3u8";
    struct mapper_state st = {0};
    uint8_t small[16];
    size_t needed = 0;

    /* Too small: the size needed comes back, nothing else. */
    EXPECT_RESULT(relay_hls_rewrite((const uint8_t *)playlist, strlen(playlist), base,
                                    strlen(base), map_uri, &st, small, sizeof small, &needed),
                  RELAY_RESULT_INSUFFICIENT_SIZE);
    EXPECT(needed == strlen(expected));

    memset(&st, 0, sizeof st);
    uint8_t *out = malloc(needed);
    size_t written = 0;
    EXPECT(out != NULL);
    CHECK(relay_hls_rewrite((const uint8_t *)playlist, strlen(playlist), base, strlen(base),
                            map_uri, &st, out, needed, &written));
    EXPECT(written == needed);
    EXPECT(memcmp(out, expected, written) == 0);
    EXPECT(st.calls == 4);
    EXPECT(strcmp(st.seen[0], "http://origin.test/live/key.bin") == 0);
    EXPECT(strcmp(st.seen[1], "http://origin.test/live/init.mp4") == 0);
    EXPECT(strcmp(st.seen[2], "http://origin.test/live/seg1.ts") == 0);
    EXPECT(strcmp(st.seen[3], "http://origin.test/abs/seg2.ts?x=1") == 0);
    printf("hls: %.*s", (int)written, (const char *)out);

    /* The same through the variant that tells what each URI names. */
    memset(&st, 0, sizeof st);
    CHECK(relay_hls_rewrite_kind((const uint8_t *)playlist, strlen(playlist), base,
                                 strlen(base), map_uri_kind, &st, out, needed, &written));
    EXPECT(written == needed && memcmp(out, expected, written) == 0);
    EXPECT(st.kinds[0] == RELAY_HLS_KIND_KEY && st.kinds[1] == RELAY_HLS_KIND_MAP);
    EXPECT(st.kinds[2] == RELAY_HLS_KIND_SEGMENT && st.kinds[3] == RELAY_HLS_KIND_SEGMENT);
    free(out);

    EXPECT_RESULT(relay_hls_rewrite((const uint8_t *)"nope", 4, base, strlen(base), map_uri,
                                    &st, NULL, 0, &written),
                  RELAY_RESULT_HLS_NOT_PLAYLIST);
    EXPECT_RESULT(relay_hls_rewrite((const uint8_t *)playlist, strlen(playlist), base,
                                    strlen(base), NULL, NULL, NULL, 0, &written),
                  RELAY_RESULT_NULL_PARAMETER);
}

/* Reads a little of a stream, then resets the connection while the relay is still sending:
 * the relay's next write fails, and must not raise SIGPIPE in this process (whose SIGPIPE
 * disposition is the default: terminate). */
static void hang_up_mid_stream(const struct sockaddr_in *sa, const char *path) {
    char request[512], buf[4096];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT(fd >= 0);
    EXPECT(connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0);
    int n = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: relay\r\n\r\n", path);
    EXPECT(n > 0 && (size_t)n < sizeof request);
    EXPECT(write(fd, request, (size_t)n) == n);
    size_t got = 0;
    while (got < 2 * sizeof buf) {
        ssize_t r = read(fd, buf, sizeof buf);
        EXPECT(r > 0);
        got += (size_t)r;
    }
    struct linger reset = {1, 0};
    EXPECT(setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset) == 0);
    close(fd);
    struct timespec pause = {0, 300 * 1000 * 1000}; /* let the relay write into the reset */
    nanosleep(&pause, NULL);
    printf("hung up a live stream after %zu bytes\n", got);
}

/* The n-th "/stream/..." path of a playlist body (0-based), copied into `path`. */
static void stream_path(const char *body, int n, char *path, size_t cap) {
    const char *url = body;
    for (int i = 0; i <= n; i++) {
        url = strstr(i == 0 ? url : url + 1, "/stream/");
        EXPECT(url != NULL);
    }
    size_t len = strcspn(url, "\r\n");
    EXPECT(len < cap);
    memcpy(path, url, len);
    path[len] = '\0';
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s ORIGIN_HOST:PORT STREAM_BYTES\n", argv[0]);
        return 2;
    }
    const char *origin = argv[1];
    size_t stream_bytes = (size_t)strtoul(argv[2], NULL, 10);

    /* The header and the library agree on the version. */
    char version[32];
    snprintf(version, sizeof version, "%d.%d.%d", RELAY_VERSION_MAJOR, RELAY_VERSION_MINOR,
             RELAY_VERSION_PATCH);
    EXPECT(strcmp(relay_version(), version) == 0);
    printf("relay %s\n", relay_version());

    CHECK(relay_set_log_callback(on_log, &log_lines));
    CHECK(relay_set_log_level(RELAY_LOG_LEVEL_INFO));

    relay_config *cfg = NULL;
    CHECK(relay_config_new(&cfg));
    CHECK(relay_config_set(cfg, "listen", 6, "127.0.0.1:0", 11));
    CHECK(relay_config_set(cfg, "shutdown-grace", 14, "1s", 2));
    EXPECT_RESULT(relay_config_set(cfg, "no-such-key", 11, "1", 1),
                  RELAY_RESULT_CONFIG_UNKNOWN_KEY);
    EXPECT_RESULT(relay_config_set(cfg, "listen", 6, "nowhere", 7),
                  RELAY_RESULT_CONFIG_BAD_VALUE);
    EXPECT_RESULT(relay_config_set(NULL, "listen", 6, "x", 1), RELAY_RESULT_NULL_PARAMETER);
    {
        /* The server's config file format: a refused text changes nothing and says where. */
        static const char good[] = "share-linger = \"1s\"\nhead-timeout = 2\n";
        static const char bad[] = "share = \"never\"\nlisen = 1\n";
        char why[128];
        size_t why_len = 0;
        CHECK(relay_config_load_toml(cfg, good, strlen(good)));
        EXPECT_RESULT(relay_config_load_toml(cfg, bad, strlen(bad)),
                      RELAY_RESULT_CONFIG_FILE_REFUSED);
        CHECK(relay_config_last_error(cfg, why, sizeof why, &why_len));
        EXPECT(why_len > 10 && strncmp(why, "config:2:1", 10) == 0);
        EXPECT_RESULT(relay_config_load_toml(NULL, good, strlen(good)),
                      RELAY_RESULT_NULL_PARAMETER);
    }

    relay_engine *engine = NULL;
    CHECK(relay_engine_new(cfg, &engine));
    relay_config_free(cfg); /* the engine keeps its own copy */

    static struct events events; /* zeroed; outlives every callback */
    events.engine = engine;
    EXPECT_RESULT(relay_engine_set_event_callback(NULL, on_event, &events),
                  RELAY_RESULT_NULL_PARAMETER);
    CHECK(relay_engine_set_event_callback(engine, on_event, &events));

    char catalog[512];
    int catalog_len = snprintf(catalog, sizeof catalog,
                               "#EXTM3U\n"
                               "#EXTINF:-1 tvg-id=\"c1\" group-title=\"Test\",C One\n"
                               "http://%s/live.ts\n"
                               "#EXTINF:-1 tvg-id=\"c2\" group-title=\"Test\",C Live\n"
                               "http://%s/endless.ts\n",
                               origin, origin);
    EXPECT(catalog_len > 0 && (size_t)catalog_len < sizeof catalog);
    size_t channels = 0;
    CHECK(relay_engine_load_m3u(engine, (const uint8_t *)catalog, (size_t)catalog_len,
                                &channels));
    EXPECT(channels == 2);

    CHECK(relay_engine_start(engine));
    EXPECT_RESULT(relay_engine_start(engine), RELAY_RESULT_ENGINE_ALREADY_RUNNING);

    /* The bound address: a too-small buffer reports the size needed. */
    char addr[64];
    size_t addr_len = 0;
    EXPECT_RESULT(relay_engine_local_addr(engine, addr, 3, &addr_len),
                  RELAY_RESULT_INSUFFICIENT_SIZE);
    EXPECT(addr_len > 3 && addr_len < sizeof addr);
    CHECK(relay_engine_local_addr(engine, addr, sizeof addr, &addr_len));
    printf("listening on %.*s\n", (int)addr_len, addr);
    struct sockaddr_in relay_addr;
    parse_addr(addr, addr_len, &relay_addr);

    /* The playlist names the channels with relay URLs. */
    struct response playlist = http_get(&relay_addr, "/playlist.m3u8");
    EXPECT(strncmp(playlist.bytes, "HTTP/1.1 200 ", 13) == 0);
    EXPECT(strstr(playlist.body, "group-title=\"Test\",C One") != NULL);
    char path[256], live_path[256];
    stream_path(playlist.body, 0, path, sizeof path);
    stream_path(playlist.body, 1, live_path, sizeof live_path);
    free(playlist.bytes);

    /* The stream is relayed whole: MPEG-TS packets, 188 bytes each. */
    struct response stream = http_get(&relay_addr, path);
    EXPECT(strncmp(stream.bytes, "HTTP/1.1 200 ", 13) == 0);
    EXPECT(stream.body_len == stream_bytes);
    for (size_t i = 0; i < stream.body_len; i += 188) EXPECT((uint8_t)stream.body[i] == 0x47);
    printf("stream %s: %zu bytes\n", path, stream.body_len);
    free(stream.bytes);

    /* Its viewer's connect and disconnect were reported before the body ended. */
    EXPECT(atomic_load(&events.connected) == 1 && atomic_load(&events.disconnected) == 1);
    EXPECT(atomic_load(&events.bytes) == stream_bytes);
    EXPECT(events.channel_len > 0 && strncmp(path, "/stream/", 8) == 0 &&
           strncmp(path + 8, events.channel, events.channel_len) == 0 &&
           path[8 + events.channel_len] == '.');
    EXPECT(events.peer_len > 10 && strncmp(events.peer, "127.0.0.1:", 10) == 0);
    EXPECT(events.reason_len == 8 && memcmp(events.reason, "complete", 8) == 0);
    EXPECT(atomic_load(&events.opened) == 1 && atomic_load(&events.closed) == 1);

    hang_up_mid_stream(&relay_addr, live_path);

    /* Stats: size query with a NULL buffer, then the JSON. */
    size_t stats_len = 0;
    EXPECT_RESULT(relay_engine_stats_json(engine, NULL, 0, &stats_len),
                  RELAY_RESULT_INSUFFICIENT_SIZE);
    char *stats = malloc(stats_len + 16);
    EXPECT(stats != NULL);
    CHECK(relay_engine_stats_json(engine, stats, stats_len + 16, &stats_len));
    stats[stats_len] = '\0';
    EXPECT(strstr(stats, "\"requests_total\":3,") != NULL);
    printf("stats: %s\n", stats);
    free(stats);

    check_hls_rewrite();

    CHECK(relay_engine_stop(engine));
    EXPECT_RESULT(relay_engine_stop(engine), RELAY_RESULT_ENGINE_NOT_RUNNING);

    /* After the stop every viewer and upstream is reported gone: the live stream hung up on
     * was a shared channel's viewer. */
    EXPECT(atomic_load(&events.shared_connected) == 1);
    EXPECT(atomic_load(&events.shared_disconnected) == 1);
    EXPECT(atomic_load(&events.opened) == 2 && atomic_load(&events.closed) == 2);
    EXPECT(atomic_load(&events.reentry_refused) == 2 && atomic_load(&events.unknown) == 0);
    CHECK(relay_engine_set_event_callback(engine, NULL, NULL));
    printf("events: %u viewers, %u upstreams\n",
           atomic_load(&events.connected) + atomic_load(&events.shared_connected),
           atomic_load(&events.opened));
    EXPECT_RESULT(relay_engine_local_addr(engine, addr, sizeof addr, &addr_len),
                  RELAY_RESULT_ENGINE_NOT_RUNNING);
    relay_engine_free(engine);
    relay_engine_free(NULL);
    relay_config_free(NULL);

    CHECK(relay_set_log_callback(NULL, NULL));
    EXPECT(atomic_load(&log_lines) > 0);
    printf("embed: ok (%zu log lines)\n", (size_t)atomic_load(&log_lines));
    return 0;
}
