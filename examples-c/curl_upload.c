/*
 * upload.c's job done with libcurl as the HTTP stack, apiretry used only
 * for decisions: each curl result or HTTP answer is fed to a call handle,
 * which says "retry after N ms" or "stop, and why". Prints the same lines
 * as upload.c, so the two can be compared on one scenario (tests/c_api.rs).
 *
 *   curl_upload BASE_URL FILE [CHUNK_BYTES]
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiretry.h"

#define MAX_HEADERS 32
#define MAX_BODY (64 * 1024)

/* One attempt's answer: headers (as apiretry_header) and a capped body. */
struct answer {
  char lines[MAX_HEADERS][512];
  apiretry_header headers[MAX_HEADERS];
  size_t n_headers;
  char body[MAX_BODY];
  size_t body_len;
};

/* The upload body, read by curl from memory. */
struct upload {
  const unsigned char *data;
  size_t len, pos;
};

static size_t on_header(char *line, size_t size, size_t n, void *user_data) {
  struct answer *a = user_data;
  size_t len = size * n;
  if (len >= 2 && strncmp(line, "HTTP/", 5) == 0) a->n_headers = 0; /* a new response (after 100) */
  char *colon = memchr(line, ':', len);
  if (colon == NULL || a->n_headers == MAX_HEADERS || len >= sizeof a->lines[0]) return len;
  char *slot = a->lines[a->n_headers];
  memcpy(slot, line, len);
  slot[len] = '\0';
  slot[colon - line] = '\0';
  char *value = slot + (colon - line) + 1;
  while (*value == ' ' || *value == '\t') value++;
  value[strcspn(value, "\r\n")] = '\0';
  a->headers[a->n_headers].name = slot;
  a->headers[a->n_headers].value = value;
  a->n_headers++;
  return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *user_data) {
  struct answer *a = user_data;
  size_t len = size * n, room = MAX_BODY - a->body_len;
  memcpy(a->body + a->body_len, data, len < room ? len : room);
  a->body_len += len < room ? len : room;
  return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *user_data) {
  struct upload *u = user_data;
  size_t want = size * n, left = u->len - u->pos;
  size_t got = want < left ? want : left;
  memcpy(buf, u->data + u->pos, got);
  u->pos += got;
  return got;
}

/* How a curl failure is told to apiretry. */
static apiretry_transport transport_of(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT: return APIRETRY_TRANSPORT_CONNECTION_REFUSED;
    case CURLE_COULDNT_RESOLVE_HOST: return APIRETRY_TRANSPORT_DNS;
    case CURLE_OPERATION_TIMEDOUT: return APIRETRY_TRANSPORT_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE: return APIRETRY_TRANSPORT_TLS;
    case CURLE_WEIRD_SERVER_REPLY: return APIRETRY_TRANSPORT_PROTOCOL;
    case CURLE_READ_ERROR: return APIRETRY_TRANSPORT_LOCAL_IO;
    case CURLE_FILESIZE_EXCEEDED: return APIRETRY_TRANSPORT_BODY_TOO_LARGE;
    default: return APIRETRY_TRANSPORT_CONNECTION_RESET; /* RECV/SEND_ERROR, GOT_NOTHING, PARTIAL_FILE */
  }
}

static void sleep_ms(uint64_t ms) {
  struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

/* One logical call: attempts until the call handle says stop. Returns 0 on
 * success, 2 for a paused channel, 1 for any other failure. */
static int call(CURL *curl, const apiretry_retrier *retrier, const char *method, const char *url,
                const unsigned char *body, size_t body_len, int expected) {
  static struct answer a;
  apiretry_call *handle = NULL;
  if (apiretry_call_new(retrier, NULL, &handle) != APIRETRY_RESULT_OK) return 1;
  int outcome = 1;
  for (;;) {
    struct upload up = {body, body_len, 0};
    a.n_headers = 0;
    a.body_len = 0;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &a);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 300000L); /* the chunk-upload class */
    if (strcmp(method, "PUT") == 0) {
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(curl, CURLOPT_READDATA, &up);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body_len);
    } else {
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, (const char *)body);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode code = curl_easy_perform(curl);
    apiretry_decision d;
    apiretry_classification *err = NULL;
    apiretry_result r;
    if (code != CURLE_OK) {
      r = apiretry_call_on_transport_error(handle, transport_of(code), curl_easy_strerror(code), &d, &err);
    } else {
      long status = 0;
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
      r = apiretry_call_on_response(handle, (uint16_t)status, a.headers, a.n_headers, (const uint8_t *)a.body,
                                    a.body_len, expected, &d, &err);
    }
    if (r != APIRETRY_RESULT_OK) break;
    if (d.action == APIRETRY_ACTION_SUCCESS) {
      outcome = 0;
      break;
    }
    apiretry_kind kind = 0;
    int32_t status = -1;
    apiretry_classification_kind(err, &kind);
    apiretry_classification_status(err, &status);
    if (d.action == APIRETRY_ACTION_RETRY) {
      printf("  attempt %u: %s (status %d), retrying in %llu ms\n", d.attempts, apiretry_kind_name(kind), status,
             (unsigned long long)d.delay_ms);
      apiretry_classification_free(err);
      sleep_ms(d.delay_ms);
      continue;
    }
    printf("  attempt %u: %s (status %d), giving up\n", d.attempts, apiretry_kind_name(kind), status);
    char json[2048];
    size_t n = 0;
    if (apiretry_classification_json(err, json, sizeof json, &n) == APIRETRY_RESULT_OK) printf("  failed: %s\n", json);
    apiretry_classification_free(err);
    outcome = kind == APIRETRY_KIND_CHANNEL_PAUSED ? 2 : 1;
    break;
  }
  apiretry_call_free(handle);
  return outcome;
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
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *curl = curl_easy_init();

  /* The same profiles and policy as upload.c: 6 attempts, 50 ms base. */
  apiretry_profile *c2c = NULL, *s3 = NULL;
  apiretry_retrier *api = NULL, *storage = NULL;
  apiretry_backoff_config backoff;
  apiretry_profile_builtin("c2c", &c2c);
  apiretry_profile_builtin("s3", &s3);
  apiretry_backoff_default(&backoff);
  backoff.base_ms = 50;
  apiretry_retrier_new(c2c, 6, 0, &backoff, &api);
  apiretry_retrier_new(s3, 6, 0, &backoff, &storage);

  char url[512];
  snprintf(url, sizeof url, "%s/assets/root/children", argv[1]);
  printf("creating the asset\n");
  int status = call(curl, api, "POST", url, (const unsigned char *)"", 0, 201);
  if (status == 2) printf("channel paused: this asset will not be uploaded\n");

  unsigned chunks = 0;
  unsigned char *buf = malloc(chunk_bytes);
  size_t got;
  while (status == 0 && buf != NULL && (got = fread(buf, 1, chunk_bytes, file)) > 0) {
    snprintf(url, sizeof url, "%s/upload/chunk/%u", argv[1], chunks + 1);
    printf("chunk %u (%zu bytes)\n", chunks + 1, got);
    status = call(curl, storage, "PUT", url, buf, got, -1);
    if (status == 0) chunks++;
  }
  if (status == 0) printf("uploaded %u chunks\n", chunks);

  free(buf);
  fclose(file);
  apiretry_retrier_free(api);
  apiretry_retrier_free(storage);
  apiretry_profile_free(c2c);
  apiretry_profile_free(s3);
  curl_easy_cleanup(curl);
  curl_global_cleanup();
  return status;
}
