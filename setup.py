"""Build hook: compile the C math core with cffi, but never make it a requirement.

The cffi extension is declared through ``cffi_modules``; a machine without a C
compiler still installs Statim and runs on the pure-Python twins (``statim info``
then reports ``backend: python``).
"""
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """Build C extensions if possible; on failure warn and fall back to Python."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # compiler missing or broken: keep the install alive
            self._warn(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._warn(exc, ext.name)

    @staticmethod
    def _warn(exc, name="C extensions"):
        sys.stderr.write(
            "statim: %s not built (%s); the pure-Python backend will be used\n" % (name, exc)
        )


setup(
    cffi_modules=["firmware/core_c/ffibuild.py:ffibuilder", "emulator/patient_c/ffibuild.py:ffibuilder"],
    cmdclass={"build_ext": OptionalBuildExt},
)
