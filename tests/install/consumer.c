/*
 * A program built against an installed libfocal exactly as a user would
 * build one (by pkg-config and by find_package): it includes
 * <focal/focal.h>, links -lfocal and checks that the header and the loaded
 * library agree on the version and that a small softmax focal loss matches
 * its closed form. Exits 0 on success, 1 on any mismatch.
 */
#include <focal/focal.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { CLASSES = 3 };

/* -(1 - p)^gamma * log p of the target class, with the softmax written out
 * here so that the reference does not come from the library under test. */
static double closed_form(const double *logits, int c, int target, double gamma)
{
    double max = logits[0];
    for (int i = 1; i < c; i++) {
        if (logits[i] > max) {
            max = logits[i];
        }
    }
    double sum = 0.0;
    for (int i = 0; i < c; i++) {
        sum += exp(logits[i] - max);
    }
    double log_p = logits[target] - max - log(sum);
    double p = exp(log_p);
    return -pow(1.0 - p, gamma) * log_p;
}

static int check_status(focal_status s, const char *what)
{
    if (s == FOCAL_OK) {
        return 0;
    }
    fprintf(stderr, "consumer: %s failed: %s (%s)\n", what, focal_status_string(s), focal_last_error());
    return 1;
}

static int close_enough(double got, double want, double rel_tol)
{
    return fabs(got - want) <= rel_tol * fabs(want);
}

int main(void)
{
    int failures = 0;

    if (focal_version_number() != FOCAL_VERSION_NUMBER) {
        fprintf(stderr, "consumer: header is version %d but the loaded library reports %u\n",
                FOCAL_VERSION_NUMBER, focal_version_number());
        failures++;
    }
    if (strcmp(focal_version_string(), FOCAL_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: header is version \"%s\" but the loaded library reports \"%s\"\n",
                FOCAL_VERSION_STRING, focal_version_string());
        failures++;
    }

    const double logits[CLASSES] = {2.0, 0.0, -1.0};
    const float logits_f32[CLASSES] = {2.0f, 0.0f, -1.0f};
    const int64_t target[1] = {0};
    const double gamma = 2.0;
    const double want = closed_form(logits, CLASSES, 0, gamma);

    focal_loss *loss = NULL;
    if (check_status(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), "focal_loss_create")) {
        return 1;
    }
    failures += check_status(focal_loss_set_gamma(loss, gamma), "focal_loss_set_gamma");
    failures += check_status(focal_loss_set_reduction(loss, FOCAL_REDUCTION_SUM), "focal_loss_set_reduction");

    double got = NAN;
    if (!check_status(focal_forward_f64(loss, 1, CLASSES, 1, logits, target, NULL, &got), "focal_forward_f64")) {
        if (!close_enough(got, want, 1e-12)) {
            fprintf(stderr, "consumer: float64 loss %.17g, closed form %.17g\n", got, want);
            failures++;
        }
    } else {
        failures++;
    }

    float got_f32 = NAN;
    if (!check_status(focal_forward_f32(loss, 1, CLASSES, 1, logits_f32, target, NULL, &got_f32),
                      "focal_forward_f32")) {
        if (!close_enough(got_f32, want, 1e-5)) {
            fprintf(stderr, "consumer: float32 loss %.9g, closed form %.17g\n", (double)got_f32, want);
            failures++;
        }
    } else {
        failures++;
    }

    focal_loss_destroy(loss);

    if (failures != 0) {
        return 1;
    }
    printf("consumer: libfocal %s, softmax focal loss %.17g matches the closed form\n",
           focal_version_string(), got);
    return 0;
}
