"""The unit's flash as a host directory (what littlefs is on a board).

Names are flat (no sub-folders) and checked, so nothing the firmware writes can
escape the directory.  rename() is an atomic replace, as littlefs guarantees.
"""
import os


class FlashDir:
    def __init__(self, root):
        self.root = os.path.abspath(root)
        os.makedirs(self.root, exist_ok=True)

    def path(self, name):
        if not name or "/" in name or "\\" in name or name in (".", "..") or "\0" in name:
            raise ValueError("flash file name %r is not a plain file name" % (name,))
        return os.path.join(self.root, name)

    def open(self, name, mode):
        if mode not in ("rb", "wb", "ab", "r+b"):
            raise ValueError("flash open mode %r not supported" % (mode,))
        return open(self.path(name), mode)

    def rename(self, old, new):
        os.replace(self.path(old), self.path(new))

    def remove(self, name):
        try:
            os.remove(self.path(name))
        except FileNotFoundError:
            pass

    def size(self, name):
        try:
            return os.path.getsize(self.path(name))
        except FileNotFoundError:
            return -1

    def listdir(self):
        return sorted(os.listdir(self.root))


class FlashStorage:
    """The HAL's storage methods over any flash object (FlashDir, powercut's MemFlash, ...)
    kept in self.flash: mixed into the emulated board and the persistence test HALs."""

    flash = None  # type: FlashDir

    def fs_open(self, name, mode):
        return self.flash.open(name, mode)

    def fs_rename(self, old, new):
        self.flash.rename(old, new)

    def fs_remove(self, name):
        self.flash.remove(name)

    def fs_size(self, name):
        return self.flash.size(name)
