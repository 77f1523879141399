/*
 * A camera's upload to C2C, done right: create the asset (c2c profile; a
 * paused channel means: do not upload), then upload the file in parts, two
 * in flight, each part done written to a journal. Killed or failed halfway,
 * run it again with the same journal: the parts done are not sent again.
 *
 *   upload BASE_URL FILE JOURNAL [PART_BYTES]
 *
 * Exit codes: 0 uploaded; 1 a part failed for good; 2 bad arguments or a
 * paused channel; 3 the upload URLs expired (ask for fresh ones, rerun).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiretry.h"

static void on_event(void *user_data, const apiretry_event *e) {
  (void)user_data;
  if (!e->failed) return;
  const char *what = e->step == APIRETRY_STEP_RETRY ? "retrying" : "giving up";
  printf("  %s (status %d), %s\n", apiretry_kind_name(e->kind), e->status, what);
}

/* Part N's presigned URL: here derived from the base URL; a real device
 * takes them from the asset's creation answer, or asks the API again when
 * `expired` says the one it gave has expired. */
static uint32_t part_url(void *base, uint32_t part, bool expired, char *buf, size_t len,
                         size_t *out_n) {
  (void)expired;
  int n = snprintf(buf, len, "%s/upload/chunk/%u", (const char *)base, part);
  if (n < 0) return 1;
  *out_n = (size_t)n;
  return (size_t)n < len ? APIRETRY_RESULT_OK : APIRETRY_RESULT_BUFFER_TOO_SMALL;
}

/* Prints a failure's JSON; returns the exit code it means. */
static int report(apiretry_classification *err) {
  char text[2048], code[64];
  size_t n = 0;
  int exit_code = 1;
  if (apiretry_classification_json(err, text, sizeof text, &n) == APIRETRY_RESULT_OK) {
    printf("  failed: %s\n", text);
  }
  apiretry_kind kind = 0;
  apiretry_classification_kind(err, &kind);
  if (kind == APIRETRY_KIND_CHANNEL_PAUSED) exit_code = 2;
  if (apiretry_classification_code(err, code, sizeof code, &n) == APIRETRY_RESULT_OK &&
      strcmp(code, "urls_expired") == 0) {
    exit_code = 3;
  }
  apiretry_classification_free(err);
  return exit_code;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s BASE_URL FILE JOURNAL [PART_BYTES]\n", argv[0]);
    return 2;
  }
  uint64_t part_bytes = argc > 4 ? strtoull(argv[4], NULL, 10) : 64 * 1024;
  apiretry_client_builder *builder = NULL;
  apiretry_client *client = NULL;
  apiretry_profile *c2c = NULL;
  apiretry_backoff_config backoff;
  if (apiretry_client_builder_new(argv[1], &builder) != APIRETRY_RESULT_OK) {
    fprintf(stderr, "bad base URL: %s\n", argv[1]);
    return 2;
  }
  apiretry_profile_builtin("c2c", &c2c);
  apiretry_client_builder_set_profile(builder, c2c);
  apiretry_profile_free(c2c);
  apiretry_backoff_default(&backoff);
  backoff.base_ms = 50; /* short waits, for the demo */
  apiretry_client_builder_set_policy(builder, 6, 0, &backoff);
  apiretry_client_builder_set_event_callback(builder, on_event, NULL);
  apiretry_client_builder_build(builder, &client);

  apiretry_request *req = NULL;
  apiretry_response *resp = NULL;
  apiretry_classification *err = NULL;
  int status = 0;
  apiretry_request_new("POST", "/assets/root/children", &req);
  apiretry_request_set_expect(req, 201);
  printf("creating the asset\n");
  if (apiretry_client_send(client, req, NULL, &resp, &err) != APIRETRY_RESULT_OK) {
    status = report(err);
    if (status == 2) printf("channel paused: this asset will not be uploaded\n");
  }
  apiretry_response_free(resp);
  apiretry_request_free(req);

  apiretry_upload *upload = NULL;
  if (status == 0 && apiretry_upload_new(client, argv[2], part_bytes, &upload) != APIRETRY_RESULT_OK) {
    fprintf(stderr, "bad file or part size\n");
    status = 2;
  }
  if (status == 0) {
    apiretry_upload_set_url_callback(upload, part_url, argv[1]);
    /* The journal is bound to this asset's upload: another's is refused. */
    apiretry_upload_set_destination(upload, "root/clip");
    /* Frame.io's part URLs sign these two headers. */
    apiretry_upload_add_header(upload, "Content-Type", "video/quicktime");
    apiretry_upload_add_header(upload, "x-amz-acl", "private");
    /* The demo's parts are small; a real upload takes
     * apiretry_upload_part_size_for(size) or S3 refuses its completion. */
    apiretry_upload_set_part_rules(upload, false);
    apiretry_upload_set_journal(upload, argv[3]);
    apiretry_upload_set_parallel(upload, 2);
    if (apiretry_upload_run(upload, NULL, &err) == APIRETRY_RESULT_OK) {
      uint32_t parts = 0, resumed = 0;
      uint64_t sent = 0;
      apiretry_upload_result(upload, &parts, &sent, &resumed);
      printf("uploaded %u parts (%u found done in the journal), %llu bytes sent\n", parts, resumed,
             (unsigned long long)sent);
    } else {
      status = report(err);
    }
  }
  apiretry_upload_free(upload);
  apiretry_client_free(client);
  return status;
}
