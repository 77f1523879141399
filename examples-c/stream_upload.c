/*
 * Uploads a file in chunks through the read callback: no chunk is ever held
 * in memory whole, and each attempt re-reads its chunk from the disk (the
 * rewind callback seeks back to the chunk's start), so a retry mid-way
 * sends exactly the same bytes.
 *
 *   stream_upload BASE_URL FILE [CHUNK_BYTES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "apiretry.h"

/* One chunk of the file: where it starts, how long, how much is read. */
struct chunk {
  FILE *file;
  long offset;
  size_t len, pos;
  unsigned rewinds;
};

static uint32_t chunk_read(void *user_data, uint8_t *buf, size_t len, size_t *out_n) {
  struct chunk *c = user_data;
  size_t want = c->len - c->pos < len ? c->len - c->pos : len;
  size_t got = fread(buf, 1, want, c->file);
  if (got < want && ferror(c->file)) return 1; /* the attempt fails as io */
  c->pos += got;
  *out_n = got;
  return 0;
}

static uint32_t chunk_rewind(void *user_data) {
  struct chunk *c = user_data;
  c->pos = 0;
  c->rewinds++;
  return fseek(c->file, c->offset, SEEK_SET) == 0 ? 0 : 1;
}

static void on_event(void *user_data, const apiretry_event *e) {
  (void)user_data;
  if (e->failed && e->step == APIRETRY_STEP_RETRY)
    printf("  attempt %u: %s (status %d), retrying\n", e->attempt + 1, apiretry_kind_name(e->kind), e->status);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s BASE_URL FILE [CHUNK_BYTES]\n", argv[0]);
    return 2;
  }
  size_t chunk_bytes = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : 64 * 1024;
  FILE *file = fopen(argv[2], "rb");
  struct stat st;
  if (file == NULL || chunk_bytes == 0 || stat(argv[2], &st) != 0) {
    perror(argv[2]);
    return 2;
  }

  apiretry_client_builder *builder = NULL;
  apiretry_client *client = NULL;
  apiretry_profile *s3 = NULL;
  apiretry_backoff_config backoff;
  if (apiretry_client_builder_new(argv[1], &builder) != APIRETRY_RESULT_OK) return 2;
  apiretry_profile_builtin("s3", &s3);
  apiretry_client_builder_set_profile(builder, s3);
  apiretry_backoff_default(&backoff);
  backoff.base_ms = 20;
  apiretry_client_builder_set_policy(builder, 5, 0, &backoff);
  apiretry_client_builder_set_event_callback(builder, on_event, NULL);
  apiretry_client_builder_build(builder, &client);

  int status = 0;
  unsigned n = 0;
  for (long offset = 0; status == 0 && offset < (long)st.st_size; offset += (long)chunk_bytes) {
    size_t left = (size_t)(st.st_size - offset);
    struct chunk c = {file, offset, left < chunk_bytes ? left : chunk_bytes, 0, 0};
    char path[64];
    snprintf(path, sizeof path, "/upload/chunk/%u", ++n);
    apiretry_request *req = NULL;
    apiretry_response *resp = NULL;
    apiretry_classification *err = NULL;
    apiretry_request_new("PUT", path, &req);
    apiretry_request_set_class(req, APIRETRY_REQUEST_CLASS_CHUNK_UPLOAD);
    apiretry_request_set_body_reader(req, c.len, chunk_read, chunk_rewind, &c);
    printf("chunk %u (%zu bytes)\n", n, c.len);
    if (apiretry_client_send(client, req, NULL, &resp, &err) != APIRETRY_RESULT_OK) {
      char message[512];
      size_t len = 0;
      apiretry_classification_message(err, message, sizeof message, &len);
      printf("  failed: %s\n", message);
      status = 1;
    } else {
      printf("  sent in %u attempt(s)\n", c.rewinds);
    }
    apiretry_response_free(resp);
    apiretry_classification_free(err);
    apiretry_request_free(req);
  }
  if (status == 0) printf("uploaded %u chunks\n", n);
  fclose(file);
  apiretry_profile_free(s3);
  apiretry_client_free(client);
  return status;
}
