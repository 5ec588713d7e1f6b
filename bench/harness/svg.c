/* --svg: bar charts. zh_svg_chart draws any groups of bars (with optional
 * interval whiskers) and a dashed reference line; the workload report
 * charts zyntax-on-X / native X per workload, `run` charts each backend's
 * ratio to the baseline with its confidence interval. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

enum { CHART_W = 900, CHART_H = 420, LEFT = 60, TOP = 50, BOTTOM = 90 };

static const char *const colours[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759"};

static double at(const double *v, size_t i) { return v ? v[i] : NAN; }

static double axis_top(const zh_chart *c) {
  double top = 2.0 * c->reference;
  for (size_t i = 0; i < c->groups * c->bars; i++) {
    if (c->value[i] > top) top = c->value[i];
    if (at(c->high, i) > top) top = at(c->high, i);
  }
  return top * 1.1;
}

static void draw_axes(FILE *f, const zh_chart *c, double top) {
  double plot_h = CHART_H - TOP - BOTTOM;
  for (double v = 0; v <= top; v += top > 8 ? 2 : top > 4 ? 1 : 0.5) {
    double y = TOP + plot_h * (1 - v / top);
    fprintf(f, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ddd'/>\n", LEFT, y,
            CHART_W - 10, y);
    fprintf(f, "<text x='%d' y='%.1f' text-anchor='end' font-size='11'>%.1f</text>\n",
            LEFT - 5, y + 4, v);
  }
  double ref = TOP + plot_h * (1 - c->reference / top);
  fprintf(f, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#000' "
             "stroke-dasharray='4 3'/>\n", LEFT, ref, CHART_W - 10, ref);
}

/* The interval of bar i as a vertical whisker through its middle. */
static void draw_whisker(FILE *f, const zh_chart *c, size_t i, double mid, double top) {
  double plot_h = CHART_H - TOP - BOTTOM, lo = at(c->low, i), hi = at(c->high, i);
  if (isnan(lo) || isnan(hi)) return;
  double y0 = TOP + plot_h * (1 - lo / top), y1 = TOP + plot_h * (1 - hi / top);
  fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#000'/>\n"
             "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#000'/>\n"
             "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#000'/>\n",
          mid, y0, mid, y1, mid - 4, y0, mid + 4, y0, mid - 4, y1, mid + 4, y1);
}

static void draw_bars(FILE *f, const zh_chart *c, double top) {
  double plot_h = CHART_H - TOP - BOTTOM;
  double group = (double)(CHART_W - LEFT - 10) / (double)c->groups;
  double bar = group * 0.8 / (double)c->bars;
  for (size_t g = 0; g < c->groups; g++) {
    double x0 = LEFT + group * (double)g + group * 0.1;
    for (size_t b = 0; b < c->bars; b++) {
      size_t i = g * c->bars + b;
      double r = c->value[i];
      if (r < 0 || isnan(r)) continue;
      double h = plot_h * r / top, x = x0 + bar * (double)b;
      fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'>"
                 "<title>%s, %s: %.2f</title></rect>\n", x, TOP + plot_h - h, bar - 1, h,
              colours[b % 4], c->group_names[g], c->bar_names[b], r);
      draw_whisker(f, c, i, x + (bar - 1) / 2, top);
    }
    double cx = x0 + group * 0.4, cy = CHART_H - BOTTOM + 12;
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='end' "
               "transform='rotate(-35 %.1f %.1f)'>%s</text>\n", cx, cy, cx, cy,
            c->group_names[g]);
  }
}

static void draw_legend(FILE *f, const zh_chart *c) {
  for (size_t b = 0; b < c->bars; b++) {
    int x = LEFT + 240 * (int)b;
    fprintf(f, "<rect x='%d' y='28' width='12' height='12' fill='%s'/>"
               "<text x='%d' y='38' font-size='12'>%s</text>\n",
            x, colours[b % 4], x + 16, c->bar_names[b]);
  }
}

int zh_svg_chart(const char *path, const zh_chart *c) {
  FILE *f = fopen(path, "w");
  if (f == NULL) return perror(path), -1;
  double top = axis_top(c);
  fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
             "font-family='sans-serif'>\n<rect width='100%%' height='100%%' fill='white'/>\n"
             "<text x='%d' y='18' font-size='14'>%s</text>\n",
          CHART_W, CHART_H, LEFT, c->title);
  draw_axes(f, c, top);
  draw_bars(f, c, top);
  draw_legend(f, c);
  fprintf(f, "</svg>\n");
  return fclose(f) == 0 ? 0 : -1;
}

/* The ratio for (workload, backend), or -1 when a side is missing. */
static double ratio_of(const zh_series *all, size_t n, const char *w, const char *b) {
  zh_summary x, y;
  const zh_series *z = zh_find(all, n, w, b, ZH_ZYNTAX), *nat = zh_find(all, n, w, b, ZH_NATIVE);
  if (!z || !nat || zh_summarize(z, &x) || zh_summarize(nat, &y) || y.median <= 0) return -1;
  return x.median / y.median;
}

int zh_write_svg(const zh_options *opt, const zh_series *all, size_t n) {
  size_t groups = opt->workload_count, bars = opt->backend_count;
  double *value = malloc(sizeof(double) * (groups * bars + 1));
  char legend[8][96];
  const char *names[8];
  if (value == NULL) return perror("zyntax-bench: --svg"), -1;
  for (size_t b = 0; b < bars; b++) {
    snprintf(legend[b], sizeof legend[b], "zyntax-on-%s / native %s", opt->backends[b],
             opt->backends[b]);
    names[b] = legend[b];
    for (size_t w = 0; w < groups; w++)
      value[w * bars + b] = ratio_of(all, n, opt->workloads[w], opt->backends[b]);
  }
  zh_chart chart = {"zyntax-bench: time per operation, zyntax / native (1.0 = same cost, "
                    "lower is better)", groups, bars, opt->workloads, names, value, NULL, NULL, 1.0};
  int rc = zh_svg_chart(opt->svg_path, &chart);
  free(value);
  return rc;
}
