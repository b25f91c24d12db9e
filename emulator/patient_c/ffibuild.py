"""cffi build script (out-of-line API mode) for the patient simulator's C loop.

Run by setuptools through ``cffi_modules`` at ``pip install``; produces
``emulator.patient_c._patient``.  Sources: patient.c and the firmware's
biophys.c (E_GABA and the GHK voltage come from the same C kernels the unit
uses).  Declarations come from patient.h's STATIM-CDEF block.
"""
import os

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
CORE_C = os.path.normpath(os.path.join(HERE, "..", "..", "firmware", "core_c"))
BEGIN = "/* STATIM-CDEF-BEGIN */"
END = "/* STATIM-CDEF-END */"


def cdef_block(path):
    with open(path) as f:
        text = f.read()
    return text.split(BEGIN, 1)[1].split(END, 1)[0]


ffibuilder = FFI()
ffibuilder.cdef(cdef_block(os.path.join(HERE, "patient.h")))
ffibuilder.set_source(
    "emulator.patient_c._patient",
    '#include "patient.h"',
    sources=[os.path.relpath(os.path.join(HERE, "patient.c")), os.path.relpath(os.path.join(CORE_C, "biophys.c"))],
    include_dirs=[os.path.relpath(HERE), os.path.relpath(CORE_C)],
    # -ffp-contract=off: no fused multiply-add, so C and the Python twin round alike
    extra_compile_args=["-std=c99", "-O2", "-ffp-contract=off", "-fno-math-errno", "-Wall", "-Wextra", "-Werror"],
    libraries=["m"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
