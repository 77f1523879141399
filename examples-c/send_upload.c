/*
 * One call at a time through apiretry_client_send, as a camera's first
 * upload loop is written: create the asset (c2c profile; a paused channel
 * means: do not upload), then PUT each chunk in turn (s3 profile,
 * chunk-upload timeout), printing every classified failure as it happens.
 * curl_upload.c makes the same calls with libcurl and the decision API, and
 * tests/c_api.rs holds the two equal. For a whole file, parts in parallel
 * and a journal to resume from, see upload.c.
 *
 *   send_upload BASE_URL FILE [CHUNK_BYTES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiretry.h"

static void on_event(void *user_data, const apiretry_event *e) {
  (void)user_data;
  if (!e->failed) return;
  const char *kind = apiretry_kind_name(e->kind);
  if (e->step == APIRETRY_STEP_RETRY) {
    printf("  attempt %u: %s (status %d), retrying in %llu ms\n", e->attempt + 1, kind, e->status,
           (unsigned long long)e->delay_ms);
  } else {
    printf("  attempt %u: %s (status %d), giving up\n", e->attempt + 1, kind, e->status);
  }
}

/* Prints a failure's JSON and frees it. */
static void report(apiretry_classification *err) {
  char json[2048];
  size_t n = 0;
  if (apiretry_classification_json(err, json, sizeof json, &n) == APIRETRY_RESULT_OK) {
    printf("  failed: %s\n", json);
  }
  apiretry_classification_free(err);
}

static int send(apiretry_client *client, apiretry_request *req) {
  apiretry_response *resp = NULL;
  apiretry_classification *err = NULL;
  apiretry_result r = apiretry_client_send(client, req, NULL, &resp, &err);
  apiretry_response_free(resp);
  if (r == APIRETRY_RESULT_API_FAILURE) {
    apiretry_kind kind = 0;
    apiretry_classification_kind(err, &kind);
    report(err);
    return kind == APIRETRY_KIND_CHANNEL_PAUSED ? 2 : 1;
  }
  return r == APIRETRY_RESULT_OK ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s BASE_URL FILE [CHUNK_BYTES]\n", argv[0]);
    return 2;
  }
  size_t chunk_bytes = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : 64 * 1024;
  FILE *file = fopen(argv[2], "rb");
  if (file == NULL || chunk_bytes == 0) {
    perror(argv[2]);
    return 2;
  }

  apiretry_client_builder *builder = NULL;
  apiretry_client *client = NULL;
  apiretry_profile *c2c = NULL, *s3 = NULL;
  apiretry_backoff_config backoff;
  if (apiretry_client_builder_new(argv[1], &builder) != APIRETRY_RESULT_OK) {
    fprintf(stderr, "bad base URL: %s\n", argv[1]);
    return 2;
  }
  apiretry_profile_builtin("c2c", &c2c);
  apiretry_profile_builtin("s3", &s3);
  apiretry_client_builder_set_profile(builder, c2c);
  apiretry_backoff_default(&backoff);
  backoff.base_ms = 50; /* short waits, for the demo */
  apiretry_client_builder_set_policy(builder, 6, 0, &backoff);
  apiretry_client_builder_set_event_callback(builder, on_event, NULL);
  apiretry_client_builder_build(builder, &client);

  int status = 0;
  apiretry_request *req = NULL;
  apiretry_request_new("POST", "/assets/root/children", &req);
  apiretry_request_set_expect(req, 201);
  printf("creating the asset\n");
  status = send(client, req);
  apiretry_request_free(req);
  if (status == 2) printf("channel paused: this asset will not be uploaded\n");

  unsigned chunks = 0;
  unsigned char *buf = malloc(chunk_bytes);
  size_t got;
  while (status == 0 && buf != NULL && (got = fread(buf, 1, chunk_bytes, file)) > 0) {
    char path[64];
    snprintf(path, sizeof path, "/upload/chunk/%u", chunks + 1);
    apiretry_request_new("PUT", path, &req);
    apiretry_request_set_profile(req, s3);
    apiretry_request_set_class(req, APIRETRY_REQUEST_CLASS_CHUNK_UPLOAD);
    apiretry_request_set_unauthorized(req, false);
    apiretry_request_set_body(req, buf, got);
    printf("chunk %u (%zu bytes)\n", chunks + 1, got);
    status = send(client, req);
    apiretry_request_free(req);
    if (status == 0) chunks++;
  }
  if (status == 0) printf("uploaded %u chunks\n", chunks);

  free(buf);
  fclose(file);
  apiretry_profile_free(c2c);
  apiretry_profile_free(s3);
  apiretry_client_free(client);
  return status;
}
