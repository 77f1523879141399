/*
 * Classifies an answer C got with its own HTTP stack, and paces by the rate
 * learned from throttling: no network needed.
 */
#include <stdio.h>
#include <string.h>

#include "apiretry.h"

int main(void) {
  apiretry_profile *c2c = NULL;
  apiretry_classification *c = NULL;
  apiretry_header headers[] = {{"Retry-After", "3"}};
  const char *body = "{\"error\": \"slow_down\"}";
  apiretry_profile_builtin("c2c", &c2c);
  apiretry_classify(c2c, 429, headers, 1, (const uint8_t *)body, strlen(body), /* expected */ -1, &c);
  apiretry_kind kind = 0;
  apiretry_retry retry = 0;
  int64_t wait_ms = 0;
  apiretry_classification_kind(c, &kind);
  apiretry_classification_retry(c, &retry);
  apiretry_classification_retry_after_ms(c, &wait_ms);
  printf("%s, retry %s, wait %lld ms\n", apiretry_kind_name(kind), retry == APIRETRY_RETRY_YES ? "yes" : "no",
         (long long)wait_ms);
  apiretry_classification_free(c);
  apiretry_profile_free(c2c);

  /* The rate learned from throttling (times: ms of a monotonic clock). */
  apiretry_rate_learner *learn = NULL;
  apiretry_rate_learner_new(/* floor: default */ 0, /* ceiling: none */ 0, &learn);
  for (uint64_t t = 0; t < 1000; t += 100) apiretry_rate_learner_on_answer(learn, t, t + 20, false, NULL);
  double rate = 0;
  if (apiretry_rate_learner_rate(learn, &rate) == APIRETRY_RESULT_ABSENT) printf("not throttled: unpaced\n");
  apiretry_rate_learner_on_answer(learn, 1000, 1020, /* throttled */ true, NULL);
  apiretry_rate_learner_on_retry_after(learn, 1020, (uint64_t)wait_ms);
  if (apiretry_rate_learner_rate(learn, &rate) == APIRETRY_RESULT_OK) printf("paced at %.2f requests/s\n", rate);
  apiretry_rate_learner_free(learn);
  return kind == APIRETRY_KIND_RATE_LIMITED && wait_ms == 3000 ? 0 : 1;
}
