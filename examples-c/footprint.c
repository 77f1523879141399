/*
 * What a device's process holds while it uses apiretry, for the memory
 * table (BENCHMARKS.md) and tests/c_api.rs, which reads the peak RSS:
 *
 *   footprint BASE_URL idle          one client, one small call
 *   footprint BASE_URL threads       16 threads, 50 small calls each
 *   footprint BASE_URL up FILE       PUT /upload, the file streamed from disk
 *   footprint BASE_URL down FILE     GET /download, streamed into FILE
 *
 * Prints "ok" and exits 0 when every call succeeded.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "apiretry.h"

static apiretry_client *client;

static int send_and_free(apiretry_request *req) {
  apiretry_response *resp = NULL;
  apiretry_classification *err = NULL;
  apiretry_result r = apiretry_client_send(client, req, NULL, &resp, &err);
  if (r != APIRETRY_RESULT_OK) {
    char msg[256];
    size_t n = 0;
    if (err != NULL && apiretry_classification_message(err, msg, sizeof msg - 1, &n) == APIRETRY_RESULT_OK) {
      msg[n] = 0;
      fprintf(stderr, "failed: %s\n", msg);
    }
  }
  apiretry_classification_free(err);
  apiretry_response_free(resp);
  apiretry_request_free(req);
  return r == APIRETRY_RESULT_OK;
}

/* A request for METHOD PATH: sent now, or kept in *KEEP to be set up. */
static int call(const char *method, const char *path, apiretry_request **keep) {
  apiretry_request *req = NULL;
  if (apiretry_request_new(method, path, &req) != APIRETRY_RESULT_OK) return 0;
  if (keep != NULL) {
    *keep = req;
    return 1;
  }
  return send_and_free(req);
}

static void *small_calls(void *failed) {
  for (int i = 0; i < 50; i++)
    if (!call("GET", "/ok", NULL)) *(int *)failed = 1;
  return NULL;
}

static uint32_t to_file(void *user_data, const uint8_t *data, size_t len) {
  return fwrite(data, 1, len, user_data) == len ? 0 : 1;
}

static uint32_t rewind_file(void *user_data) {
  rewind(user_data);
  return 0;
}

/* Part N's URL: BASE_URL/parts/N. */
static uint32_t part_url(void *base, uint32_t part, bool expired, char *buf, size_t len,
                         size_t *out_n) {
  (void)expired;
  int n = snprintf(buf, len, "%s/parts/%u", (const char *)base, part);
  if (n < 0) return 1;
  *out_n = (size_t)n;
  return (size_t)n < len ? APIRETRY_RESULT_OK : APIRETRY_RESULT_BUFFER_TOO_SMALL;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: footprint BASE_URL idle|threads|up FILE|down FILE|parts FILE\n");
    return 2;
  }
  apiretry_client_builder *b = NULL;
  if (apiretry_client_builder_new(argv[1], &b) != APIRETRY_RESULT_OK ||
      apiretry_client_builder_build(b, &client) != APIRETRY_RESULT_OK)
    return 1;
  int ok = 0;
  const char *mode = argv[2];
  if (strcmp(mode, "idle") == 0) {
    ok = call("GET", "/ok", NULL);
  } else if (strcmp(mode, "threads") == 0) {
    pthread_t t[16];
    int failed = 0;
    for (int i = 0; i < 16; i++) pthread_create(&t[i], NULL, small_calls, &failed);
    for (int i = 0; i < 16; i++) pthread_join(t[i], NULL);
    ok = !failed;
  } else if (argc > 3 && strcmp(mode, "up") == 0) {
    apiretry_request *req = NULL;
    ok = call("PUT", "/upload", &req) &&
         apiretry_request_set_body_file(req, argv[3], 0, APIRETRY_LENGTH_UNKNOWN) == APIRETRY_RESULT_OK &&
         send_and_free(req);
  } else if (argc > 3 && strcmp(mode, "down") == 0) {
    FILE *out = fopen(argv[3], "wb");
    apiretry_request *req = NULL;
    ok = out != NULL && call("GET", "/download", &req) &&
         apiretry_request_set_response_writer(req, to_file, rewind_file, out) == APIRETRY_RESULT_OK &&
         send_and_free(req);
    if (out != NULL) fclose(out);
  } else if (argc > 3 && strcmp(mode, "parts") == 0) {
    /* The whole file in 64 MiB parts, 4 in flight. */
    apiretry_upload *up = NULL;
    ok = apiretry_upload_new(client, argv[3], 64u << 20, &up) == APIRETRY_RESULT_OK &&
         apiretry_upload_set_url_callback(up, part_url, argv[1]) == APIRETRY_RESULT_OK &&
         apiretry_upload_set_parallel(up, 4) == APIRETRY_RESULT_OK &&
         apiretry_upload_run(up, NULL, NULL) == APIRETRY_RESULT_OK;
    apiretry_upload_free(up);
  }
  apiretry_client_free(client);
  puts(ok ? "ok" : "failed");
  return ok ? 0 : 1;
}
