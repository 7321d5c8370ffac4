"""File formats shared by the dataset loaders and the evaluation: the lowest data layer.

Submodules: ``regions`` (VOT region lines: rectangles, polygons, RLE masks; their
rasterisation, overlaps and continuous box IoU), ``results_io`` (reading and writing
box, region and time files in the layouts of pytracking, the GOT-10k toolkit and the
VOT toolkit), ``palette_png`` (constants of palette label PNGs such as DAVIS's void
label) and ``paths`` (``safe_name``: a name read from a data file must be one plain
path component, so nothing built from it leaves its folder). They import only the
standard library and NumPy, so ``trackerzoo.datasets`` and ``trackerzoo.evaluation``
can both build on them (see docs/architecture.md).
"""
