/*
 * A clip uploaded while it records, through the C API, against the mock
 * (run under valgrind from tests/c_api.rs with APIRETRY_MOCK_URL): a
 * recording thread appends to the file and, once it is closed, calls
 * apiretry_upload_finish while apiretry_upload_run runs on the main
 * thread. The part callback is asked for each part with its range, and
 * for the last with is_final and the file's size; every part carries
 * Frame.io's signed headers. The file's size is printed for the Rust side
 * to hold the bytes the server received against.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apiretry.h"
#include "check.h"

#define PART (64 * 1024)
#define WRITES 40
#define WRITE_SIZE (16 * 1024 + 7)

struct asked {
  pthread_mutex_t lock;
  const char *base;
  int n;
  apiretry_upload_part parts[64];
};

static uint32_t part_url(void *user_data, const apiretry_upload_part *part, char *buf, size_t len,
                         size_t *out_n) {
  struct asked *a = user_data;
  pthread_mutex_lock(&a->lock);
  if (a->n < 64) a->parts[a->n++] = *part;
  pthread_mutex_unlock(&a->lock);
  int n = snprintf(buf, len, "%s/g/%u", a->base, part->number);
  *out_n = (size_t)n;
  return (size_t)n < len ? 0 : APIRETRY_RESULT_BUFFER_TOO_SMALL;
}

struct recording {
  const char *path;
  apiretry_upload *upload;
  uint64_t size;
};

/* Appends WRITES pieces, 5 ms apart; then the file is final. */
static void *record(void *arg) {
  struct recording *r = arg;
  static unsigned char piece[WRITE_SIZE];
  FILE *f = fopen(r->path, "ab");
  for (int w = 0; w < WRITES && f != NULL; w++) {
    for (size_t i = 0; i < sizeof piece; i++) piece[i] = (unsigned char)((r->size + i) * 7 % 251);
    fwrite(piece, 1, sizeof piece, f);
    fflush(f);
    r->size += sizeof piece;
    usleep(5000);
  }
  if (f != NULL) fclose(f);
  CHECK(apiretry_upload_finish(r->upload, r->size) == APIRETRY_RESULT_OK);
  return NULL;
}

int main(void) {
  const char *url = getenv("APIRETRY_MOCK_URL");
  if (url == NULL) {
    fprintf(stderr, "APIRETRY_MOCK_URL not set\n");
    return 2;
  }
  char path[] = "/tmp/apiretry-growing-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd >= 0) close(fd);
  char journal[64];
  snprintf(journal, sizeof journal, "%s.journal", path);

  apiretry_client_builder *b = NULL;
  apiretry_client *client = NULL;
  CHECK(apiretry_client_builder_new(url, &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_build(b, &client) == APIRETRY_RESULT_OK);
  apiretry_upload *up = NULL;
  CHECK(apiretry_upload_new(client, path, PART, &up) == APIRETRY_RESULT_OK);
  struct asked asked = {PTHREAD_MUTEX_INITIALIZER, url, 0, {{0}}};
  CHECK(apiretry_upload_set_part_callback(up, NULL, &asked) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_upload_set_part_callback(up, part_url, &asked) == APIRETRY_RESULT_OK);
  CHECK(apiretry_upload_set_growing(NULL, true) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_upload_set_growing(up, true) == APIRETRY_RESULT_OK);
  CHECK(apiretry_upload_finish(NULL, 1) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_upload_set_part_rules(up, false) == APIRETRY_RESULT_OK); /* the mock's small parts */
  CHECK(apiretry_upload_set_destination(up, "asset-growing") == APIRETRY_RESULT_OK);
  CHECK(apiretry_upload_add_header(up, "Content-Type", "video/quicktime") == APIRETRY_RESULT_OK);
  CHECK(apiretry_upload_add_header(up, "x-amz-acl", "private") == APIRETRY_RESULT_OK);
  CHECK(apiretry_upload_set_journal(up, journal) == APIRETRY_RESULT_OK);

  struct recording rec = {path, up, 0};
  pthread_t recorder;
  pthread_create(&recorder, NULL, record, &rec);
  apiretry_classification *err = NULL;
  apiretry_result r = apiretry_upload_run(up, NULL, &err);
  pthread_join(recorder, NULL);
  CHECK(r == APIRETRY_RESULT_OK);
  if (err != NULL) apiretry_classification_free(err);

  uint32_t parts = 0;
  CHECK(apiretry_upload_result(up, &parts, NULL, NULL) == APIRETRY_RESULT_OK);
  uint32_t want = (uint32_t)((rec.size + PART - 1) / PART);
  CHECK(parts == want && asked.n == (int)want);
  for (int i = 0; i < asked.n; i++) {
    apiretry_upload_part p = asked.parts[i];
    int last = p.number == want;
    CHECK(p.offset == (uint64_t)(p.number - 1) * PART);
    CHECK(p.is_final == last && !p.expired);
    CHECK(p.file_size == (last ? rec.size : 0));
    CHECK(p.size == (last ? rec.size - p.offset : PART));
  }
  printf("growing file size: %llu\n", (unsigned long long)rec.size);
  apiretry_upload_free(up);
  apiretry_client_free(client);
  unlink(path);
  unlink(journal);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
