/* plot.h — small line charts as PNG (training curves, precision-recall), drawn with cairo and
 * written atomically. */
#ifndef SBIR_PLOT_H
#define SBIR_PLOT_H

typedef struct {
    const char *name;
    const double *x, *y;
    int n;
} plot_series;

typedef struct {
    const char *title, *xlabel, *ylabel;
    double xmin, xmax, ymin, ymax; /* xmin == xmax (or ymin == ymax): fit to the data */
    int width, height;             /* 0: 800 x 500 */
} plot_opts;

int plot_lines_png(const char *path, const plot_opts *o, const plot_series *series, int n_series);

/* Writes a cairo image surface to path as PNG, atomically. */
#include <stdint.h>
struct _cairo_surface;
/* A new cairo RGB24 surface holding w x h pixels of 1 (grey) or 3 (RGB) channels. */
struct _cairo_surface *cairo_surface_from_pixels(const uint8_t *px, int w, int h, int channels);
int cairo_surface_write_png_atomic(struct _cairo_surface *surface, const char *path);

#endif
