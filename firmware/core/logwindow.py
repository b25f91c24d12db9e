# The episode's log as the engine and its readers see it: a list of entries by
# index (the `seq` the link reports), of which only the newest few stay in RAM.
#
#   w = Window(eventlog)        # an empty window on an EventLog
#   eventlog.load(w.replayed)   # replay: every entry's record offset (nothing decoded)
#   len(w), w[i], w[-1], iter(w)
#   w.append(entry)             # the engine's commit: the entry the log wrote last
#
# Why: on a board every entry of an episode kept in RAM cost about 50-150 B of
# heap, so an episode with the EEG detector running ran out of room for routine
# records after a few hundred entries, and a multi-day super-refractory episode
# could not be recorded.  Here RAM holds the newest KEEP entries, a mark (a file
# offset: a small int, one list slot) for every STEP-th entry, and the few
# entries that differ from their record (an entry the engine quarantined while
# its record stays as it was written).  An older entry is read back from flash:
# the STEP entries from its mark are read at once and kept until another group
# is needed, so a walk over the log reads each record once.
#
# The order and the content are those of a replay (EventLog.load): an entry's
# index never changes, which voids.py and the link rely on.  What the clinical
# state needs for the whole episode (the doses, the weight, the stage) is in the
# engine's fold, not read from here.
KEEP = 32  # newest entries kept in RAM (the link's and the screen's reads of new entries)
STEP = 16  # entries per mark: a read of an old entry walks at most this many records
_NONE = []  # type: list  # no group read (never changed)
_VOID = b'"void"'


class Window:
    def __init__(self, log, keep=None):
        self.log = log
        self.keep = KEEP if keep is None else keep
        self.n = 0
        self.recent = []  # type: list  # the newest entries; recent[0] is entry n - len(recent)
        self.marks = []  # type: list  # file offset of entries 0, STEP, 2 * STEP, ...
        self.held = {}  # type: dict  # entry index -> the entry, where it is not its record
        self.voids = 0  # entered-in-error marks the replay's index saw
        self._group = -1  # the group of STEP entries last read from flash ...
        self._objs = _NONE  # ... its entries ...
        self._offs = _NONE  # ... and their records' offsets

    def __len__(self):
        return self.n

    def replayed(self, payload, pos):
        """One entry of the log's replay (EventLog.load): its record's offset, and its payload,
        which is looked at only for an entered-in-error mark (the fold must know them first)."""
        if self.n % STEP == 0:
            self.marks.append(pos)
        if _VOID in payload:  # (a text in JSON holds it only escaped; a false hit costs a scan)
            self.voids += 1
        self.n += 1

    def add(self, obj, pos):
        """One entry, whose record is at file offset pos (every commit)."""
        if self.n % STEP == 0:
            self.marks.append(pos)
        r = self.recent
        r.append(obj)
        if len(r) > self.keep:
            r.pop(0)
        if type(obj) is dict and obj.get("type") == "invalid" and "t" in obj:
            self.held[self.n] = obj  # quarantined by the engine: its record reads as the event
        self.n += 1

    def append(self, obj):
        """The engine's commit: the entry of the record the log wrote or replayed last."""
        self.add(obj, self.log.last_pos)

    def reserve(self):
        """Make the room of one more entry now (the engine does it before it writes, so a heap
        that cannot give it refuses the entry with nothing written): the one allocation
        an entry can ask of the window is its mark's list slot."""
        if self.n % STEP == 0:
            self.marks.append(0)
            self.marks.pop()

    def __getitem__(self, i):
        n = self.n
        if type(i) is not int:  # a slice (host tools and tests)
            return [self[k] for k in range(*i.indices(n))]
        if i < 0:
            i += n
        if i < 0 or i >= n:
            raise IndexError("no log entry %d (the log has %d)" % (i, n))
        j = i - n + len(self.recent)
        if j >= 0:
            return self.recent[j]
        if i in self.held:
            return self.held[i]
        return self._read(i)

    def __iter__(self):
        i = 0
        while i < self.n:
            yield self[i]
            i += 1

    def at(self, i):
        """Entry i and the file offset of its record (replay's walk)."""
        obj = self[i]
        if i // STEP != self._group:
            self._read(i)
        return obj, self._offs[i % STEP]

    def _read(self, i):
        g = i // STEP
        if g != self._group or i % STEP >= len(self._objs):  # (a group read while it was the newest
            # may have had fewer entries than it has now)
            self._objs = self._offs = _NONE  # the last group goes before the next is read
            self._group = -1
            objs, offs = self.log.read(self.marks[g], STEP)
            if len(objs) <= i % STEP or offs[0] != self.marks[g]:
                raise OSError("the event log on flash no longer has entry %d where it was written" % i)
            self._objs, self._offs, self._group = objs, offs, g
        return self._objs[i % STEP]

    def __eq__(self, other):  # the host's tests compare the log with a list
        return list(self) == list(other)
