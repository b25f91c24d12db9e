"""cffi build script (out-of-line API mode) for the Statim C math core.

Run by setuptools through ``cffi_modules`` at ``pip install``.  Every ``*.c``
file in this folder is compiled into one extension, ``firmware.core_c._core``;
the declarations come from each header's STATIM-CDEF block, so the header is
the single source of truth for C, cffi and the Cortex-M build.
"""
import os
import platform
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
BEGIN = "/* STATIM-CDEF-BEGIN */"
END = "/* STATIM-CDEF-END */"


def headers():
    return sorted(f for f in os.listdir(HERE) if f.endswith(".h"))


def sources():
    return sorted(f for f in os.listdir(HERE) if f.endswith(".c"))


def cdef_block(path):
    with open(path) as f:
        text = f.read()
    if BEGIN not in text:
        return ""
    return text.split(BEGIN, 1)[1].split(END, 1)[0]


def vector_math_flags():
    """Vector log through glibc's libmvec on x86-64 Linux; plain loops elsewhere.

    -fopenmp-simd only honours the ``omp simd`` pragmas: no OpenMP runtime, and
    no -ffast-math anywhere (it would change the FPU state of the whole process).
    """
    if sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64"):
        return ["-fopenmp-simd", "-DSTATIM_VECTOR_MATH"], ["mvec", "m"]
    return [], ["m"]


ffibuilder = FFI()
ffibuilder.cdef("\n".join(cdef_block(os.path.join(HERE, h)) for h in headers()))
_cflags, _libs = vector_math_flags()
ffibuilder.set_source(
    "firmware.core_c._core",
    "\n".join('#include "%s"' % h for h in headers()),
    sources=[os.path.relpath(os.path.join(HERE, s)) for s in sources()],
    include_dirs=[os.path.relpath(HERE)],
    extra_compile_args=["-std=c99", "-O3", "-fno-math-errno", "-Wall", "-Wextra", "-Werror"] + _cflags,
    libraries=_libs,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
