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


class CappedFlash:
    """A flash with room for `capacity` bytes in all (the sum of its files' sizes), over any
    flash object.  A write that does not fit raises OSError(28) (ENOSPC, what littlefs raises on a
    full board) and writes nothing: littlefs commits a file only when it is closed or synced, so a
    refused write leaves the file as it was.  `capacity` may be changed (space freed); None means
    the flash is full now (capacity = what is used)."""

    def __init__(self, flash, capacity=None):
        self.flash = flash
        self.capacity = self.used() if capacity is None else capacity
        self.refused = 0  # writes refused for lack of room

    def used(self):
        return sum(max(self.flash.size(n), 0) for n in self.flash.listdir())

    def open(self, name, mode):
        return _CappedFile(self, self.flash.open(name, mode))

    def rename(self, old, new):
        self.flash.rename(old, new)

    def remove(self, name):
        self.flash.remove(name)

    def size(self, name):
        return self.flash.size(name)

    def listdir(self):
        return self.flash.listdir()

    def __getattr__(self, name):  # root, path, ... of the flash underneath
        return getattr(self.flash, name)


class FileProxy:
    """A file object whose write() a subclass intercepts; everything else passes through."""

    f = None  # type: object

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.f.close()


class _CappedFile(FileProxy):
    def __init__(self, owner, f):
        self.owner = owner
        self.f = f

    def write(self, data):
        if hasattr(self.f, "flush"):
            self.f.flush()  # sizes on disk are what used() counts
        if self.owner.used() + len(data) > self.owner.capacity:
            self.owner.refused += 1
            raise OSError(28, "No space left on device")
        return self.f.write(data)
