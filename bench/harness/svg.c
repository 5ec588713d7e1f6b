/* --svg: a bar chart of the ratios zyntax-on-X / native X, one group of bars
 * per workload, one colour per backend, a line at 1.0. */
#include <stdio.h>

#include "harness.h"

enum { CHART_W = 900, CHART_H = 420, LEFT = 60, TOP = 50, BOTTOM = 90 };

static const char *const colours[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759"};

/* The ratio for (workload, backend), or -1 when a side is missing. */
static double ratio_of(const zh_series *all, size_t n, const char *w, const char *b) {
  zh_summary x, y;
  const zh_series *z = zh_find(all, n, w, b, ZH_ZYNTAX), *nat = zh_find(all, n, w, b, ZH_NATIVE);
  if (!z || !nat || zh_summarize(z, &x) || zh_summarize(nat, &y) || y.median <= 0) return -1;
  return x.median / y.median;
}

static double axis_top(const zh_options *opt, const zh_series *all, size_t n) {
  double top = 2.0;
  for (size_t w = 0; w < opt->workload_count; w++)
    for (size_t b = 0; b < opt->backend_count; b++) {
      double r = ratio_of(all, n, opt->workloads[w], opt->backends[b]);
      if (r > top) top = r;
    }
  return top * 1.1;
}

static void draw_axes(FILE *f, double top) {
  double plot_h = CHART_H - TOP - BOTTOM;
  for (double v = 0; v <= top; v += top > 8 ? 2 : top > 4 ? 1 : 0.5) {
    double y = TOP + plot_h * (1 - v / top);
    fprintf(f, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ddd'/>\n", LEFT, y,
            CHART_W - 10, y);
    fprintf(f, "<text x='%d' y='%.1f' text-anchor='end' font-size='11'>%.1f</text>\n",
            LEFT - 5, y + 4, v);
  }
  double one = TOP + plot_h * (1 - 1 / top);
  fprintf(f, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#000' "
             "stroke-dasharray='4 3'/>\n", LEFT, one, CHART_W - 10, one);
}

static void draw_bars(FILE *f, const zh_options *opt, const zh_series *all, size_t n,
                      double top) {
  double plot_h = CHART_H - TOP - BOTTOM;
  double group = (double)(CHART_W - LEFT - 10) / (double)opt->workload_count;
  double bar = group * 0.8 / (double)opt->backend_count;
  for (size_t w = 0; w < opt->workload_count; w++) {
    double x0 = LEFT + group * (double)w + group * 0.1;
    for (size_t b = 0; b < opt->backend_count; b++) {
      double r = ratio_of(all, n, opt->workloads[w], opt->backends[b]);
      if (r < 0) continue;
      double h = plot_h * r / top, x = x0 + bar * (double)b;
      fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'>"
                 "<title>%s on %s: %.2f</title></rect>\n", x, TOP + plot_h - h, bar - 1, h,
              colours[b % 4], opt->workloads[w], opt->backends[b], r);
    }
    double cx = x0 + group * 0.4, cy = CHART_H - BOTTOM + 12;
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='end' "
               "transform='rotate(-35 %.1f %.1f)'>%s</text>\n", cx, cy, cx, cy,
            opt->workloads[w]);
  }
}

static void draw_legend(FILE *f, const zh_options *opt) {
  for (size_t b = 0; b < opt->backend_count; b++) {
    int x = LEFT + 240 * (int)b;
    fprintf(f, "<rect x='%d' y='28' width='12' height='12' fill='%s'/>"
               "<text x='%d' y='38' font-size='12'>zyntax-on-%s / native %s</text>\n",
            x, colours[b % 4], x + 16, opt->backends[b], opt->backends[b]);
  }
}

int zh_write_svg(const zh_options *opt, const zh_series *all, size_t n) {
  FILE *f = fopen(opt->svg_path, "w");
  if (f == NULL) return perror(opt->svg_path), -1;
  double top = axis_top(opt, all, n);
  fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
             "font-family='sans-serif'>\n<rect width='100%%' height='100%%' fill='white'/>\n"
             "<text x='%d' y='18' font-size='14'>zyntax-bench: time per operation, "
             "zyntax / native (1.0 = same cost, lower is better)</text>\n",
          CHART_W, CHART_H, LEFT);
  draw_axes(f, top);
  draw_bars(f, opt, all, n, top);
  draw_legend(f, opt);
  fprintf(f, "</svg>\n");
  return fclose(f) == 0 ? 0 : -1;
}
