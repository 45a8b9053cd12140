"""`make bench`: every benchmark of the collection, one after the other (figures only, no pass/fail)."""

import pathlib
import runpy
import sys

HERE = pathlib.Path(__file__).resolve().parent
for script in ("apply_bench.py", "diff_lint_bench.py", "site_bench.py"):
    print(f"==== {script}")
    sys.argv = [str(HERE / script)]
    runpy.run_path(str(HERE / script), run_name="__main__")
