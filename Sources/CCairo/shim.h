// cairo (Debian libcairo2-dev): 2D drawing with image (PNG), SVG and PDF surfaces, for the report figures.
#include <cairo.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>
