/* test_metrics.c — AP, AP@k, P@k and PR curves against rankings worked out by hand. */
#include "model/metrics.h"
#include "test.h"

static void test_ap_without_ties(void) {
    /* ranking: R N R N R (scores descending). Precision at hits: 1/1, 2/3, 3/5 -> AP = (1 + 2/3 + 3/5)/3 */
    float s[5] = {0.9f, 0.8f, 0.7f, 0.6f, 0.5f};
    uint8_t r[5] = {1, 0, 1, 0, 1};
    rank_metrics m = rank_evaluate(s, r, 5, 200, 100, NULL);
    CHECK_NEAR(m.ap, (1.0 + 2.0 / 3 + 3.0 / 5) / 3, 1e-12);
    CHECK(m.n_relevant == 3, "n_relevant %d", m.n_relevant);
    /* AP@2: one hit within the top 2 (precision 1), divided by min(R, 2) = 2 */
    m = rank_evaluate(s, r, 5, 2, 2, NULL);
    CHECK_NEAR(m.ap_at_k, 0.5, 1e-12);
    CHECK_NEAR(m.p_at_k2, 0.5, 1e-12);
}

static void test_storage_order_does_not_matter(void) {
    /* the same ranking stored shuffled */
    float s[5] = {0.6f, 0.9f, 0.5f, 0.8f, 0.7f};
    uint8_t r[5] = {0, 1, 1, 0, 1};
    rank_metrics m = rank_evaluate(s, r, 5, 200, 100, NULL);
    CHECK_NEAR(m.ap, (1.0 + 2.0 / 3 + 3.0 / 5) / 3, 1e-12);
}

static void test_perfect_and_worst(void) {
    float s[4] = {4, 3, 2, 1};
    uint8_t best[4] = {1, 1, 0, 0}, worst[4] = {0, 0, 1, 1};
    CHECK_NEAR(rank_evaluate(s, best, 4, 200, 100, NULL).ap, 1.0, 1e-12);
    /* hits at ranks 3 and 4: (1/3 + 2/4) / 2 */
    CHECK_NEAR(rank_evaluate(s, worst, 4, 200, 100, NULL).ap, (1.0 / 3 + 0.5) / 2, 1e-12);
}

static void test_ties_are_ranked_as_a_group(void) {
    /* all four tied, two relevant: one group, precision at its end 2/4 -> AP = 0.5 whatever the order */
    float s[4] = {1, 1, 1, 1};
    uint8_t a[4] = {1, 1, 0, 0}, b[4] = {0, 0, 1, 1};
    CHECK_NEAR(rank_evaluate(s, a, 4, 200, 100, NULL).ap, 0.5, 1e-12);
    CHECK_NEAR(rank_evaluate(s, b, 4, 200, 100, NULL).ap, 0.5, 1e-12);
    /* R first, then a tie of {R, N}: groups end at 1 (P=1) and 3 (P=2/3) -> AP = (1 + 2/3)/2 */
    float s2[3] = {2, 1, 1};
    uint8_t r2[3] = {1, 0, 1};
    CHECK_NEAR(rank_evaluate(s2, r2, 3, 200, 100, NULL).ap, (1.0 + 2.0 / 3) / 2, 1e-12);
    /* P@1 with a 2-way tie at the top holding one hit: half a hit */
    float s3[3] = {5, 5, 1};
    uint8_t r3[3] = {0, 1, 0};
    CHECK_NEAR(rank_evaluate(s3, r3, 3, 1, 1, NULL).p_at_k2, 0.5, 1e-12);
}

static void test_no_relevant_item(void) {
    float s[3] = {3, 2, 1};
    uint8_t r[3] = {0, 0, 0};
    rank_metrics m = rank_evaluate(s, r, 3, 200, 100, NULL);
    CHECK(m.ap == -1 && m.ap_at_k == -1, "AP of a query with nothing relevant must be -1, got %g", m.ap);
    double pr[3] = {0, 0, 0};
    CHECK(rank_pr_accumulate(s, r, 3, 3, pr, NULL) == 0 && pr[0] == 0, "PR accumulated for an empty query");
}

static void test_pr_curve(void) {
    /* R N R N: points (rec, prec) = (.5, 1), (.5, .5), (1, 2/3), (1, .5). Interpolated at r = 0, .5, 1:
     * 1, 1, 2/3 */
    float s[4] = {4, 3, 2, 1};
    uint8_t r[4] = {1, 0, 1, 0};
    double pr[3] = {0, 0, 0};
    CHECK(rank_pr_accumulate(s, r, 4, 3, pr, NULL) == 1, "query skipped");
    CHECK_NEAR(pr[0], 1.0, 1e-12);
    CHECK_NEAR(pr[1], 1.0, 1e-12);
    CHECK_NEAR(pr[2], 2.0 / 3, 1e-12);
}

int main(void) {
    RUN(test_ap_without_ties);
    RUN(test_storage_order_does_not_matter);
    RUN(test_perfect_and_worst);
    RUN(test_ties_are_ranked_as_a_group);
    RUN(test_no_relevant_item);
    RUN(test_pr_curve);
    return test_summary();
}
