"""Build the Cython hot path.

The repository keeps ``fabric/`` and ``protocols/`` at the top level and maps them to
``uesim.fabric`` and ``uesim.protocols``.  Cython looks for ``.pxd`` files by module path
(``uesim/fabric/engine.pxd``), which does not exist on disk, so we build a view of symlinks
``build/cython-include/uesim/{fabric,protocols}`` and pass its parent as the include path.
"""
import os
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

ROOT = Path(__file__).parent.resolve()
# every .pyx under these folders is compiled; protocols/uet/pds.pyx -> uesim.protocols.uet.pds
COMPILED_ROOTS = ("fabric", "protocols")


def compiled_modules() -> list[tuple[str, str]]:
    """(module name, source path) of every Cython module, in a stable order."""
    out = []
    for root in COMPILED_ROOTS:
        for pyx in sorted((ROOT / root).rglob("*.pyx")):
            rel = pyx.relative_to(ROOT)
            out.append(("uesim." + ".".join(rel.with_suffix("").parts), str(rel)))
    return out


def cython_include_view() -> str:
    view = ROOT / "build" / "cython-include" / "uesim"
    view.mkdir(parents=True, exist_ok=True)
    for folder in COMPILED_ROOTS:
        link = view / folder
        if not link.exists():
            os.symlink(ROOT / folder, link)
    return str(view.parent)


# UESIM_LINETRACE=1: a line-traced build for Cython coverage (tools/coverage.sh); slow,
# never for real runs.
LINETRACE = os.environ.get("UESIM_LINETRACE") == "1"
# UESIM_OPT=-O0: a quick-to-compile build (tools/mutate_core.py rebuilds once per mutant)
OPT = os.environ.get("UESIM_OPT", "-O0" if LINETRACE else "-O3")

extensions = [
    Extension(
        name,
        [source],
        include_dirs=[numpy.get_include()],
        extra_compile_args=[OPT],
        define_macros=[("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")] if LINETRACE else [],
    )
    for name, source in compiled_modules()
]

setup(
    ext_modules=cythonize(
        extensions,
        include_path=[cython_include_view()],
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            **({"linetrace": True} if LINETRACE else {}),
        },
    )
)
