# The HAL: the only door between firmware/core and hardware.
#
# A board (firmware/boards/<board>/hal.py) or the emulator (emulator/board.py)
# subclasses Hal and implements these methods; the core calls nothing else that
# touches the outside world.  docs/hal.md is the contract in prose.
#
# Rules every implementation keeps (they are what the core relies on):
# - ticks_ms() wraps like MicroPython's (period 2**30 ms); compare with
#   clock.ticks_diff, never with < or -.
# - Calls made from the main loop's tick path allocate nothing: buffers are
#   passed in by the caller (readinto style) and results are small ints.
# - Nothing blocks except sleep_ms / wait_until.

# Buttons: bit masks returned by poll_buttons() (edges since the last poll).
BTN_UP = 1
BTN_DOWN = 2
BTN_OK = 4
BTN_BACK = 8
BTN_ALARM = 16  # acknowledge / pause audio
BUTTON_NAMES = (("up", BTN_UP), ("down", BTN_DOWN), ("ok", BTN_OK), ("back", BTN_BACK), ("alarm", BTN_ALARM))

# Buzzer patterns (IEC 60601-1-8 priorities, clinical.md §9); 0 = silent.
TONE_OFF = 0
TONE_LOW = 1
TONE_MEDIUM = 2
TONE_HIGH = 3

# LED colours for set_led(); the alarm light colour/flash comes from the priority.
LED_OFF = 0
LED_GREEN = 1  # running, no alarm
LED_CYAN = 2  # low priority
LED_YELLOW = 3  # medium priority
LED_RED = 4  # high priority


class Hal:
    # --- clock -----------------------------------------------------------
    def ticks_ms(self):
        """Milliseconds, wrapping at 2**30 (MicroPython time.ticks_ms)."""
        raise NotImplementedError

    def rtc_s(self):
        """Wall-clock seconds since 1970-01-01 UTC, or None if the RTC is not set."""
        raise NotImplementedError

    def set_rtc(self, seconds):
        """Set the wall clock (maintenance)."""
        raise NotImplementedError

    def sleep_ms(self, ms):
        """Sleep at most ms; return early on a button, UART byte or EEG block.

        The emulator jumps its virtual clock instead of sleeping."""
        raise NotImplementedError

    # --- display ---------------------------------------------------------
    def show(self, screen):
        """Draw a screens.Screen (rows of text, one row may be large digits)."""
        raise NotImplementedError

    # --- buttons, buzzer, lights -----------------------------------------
    def poll_buttons(self):
        """Bit mask of buttons pressed since the last call (debounced edges)."""
        raise NotImplementedError

    def set_tone(self, pattern):
        """Buzzer pattern: TONE_OFF, TONE_LOW, TONE_MEDIUM or TONE_HIGH."""
        raise NotImplementedError

    def set_led(self, colour, flashing):
        """Alarm/status light: LED_* colour, flashing True/False."""
        raise NotImplementedError

    # --- storage (a small filesystem: littlefs on a board, a folder on the host) --
    def fs_open(self, name, mode):
        """Open a file in the unit's storage ('rb', 'wb', 'ab')."""
        raise NotImplementedError

    def fs_rename(self, old, new):
        """Atomic replace (littlefs rename semantics)."""
        raise NotImplementedError

    def fs_remove(self, name):
        raise NotImplementedError

    def fs_size(self, name):
        """Size in bytes, or -1 if the file does not exist."""
        raise NotImplementedError

    # --- UART (host link) ------------------------------------------------
    def uart_readinto(self, buf):
        """Non-blocking: copy waiting bytes into buf, return how many (0 if none)."""
        raise NotImplementedError

    def uart_write(self, data):
        """Non-blocking: send what the link can take now of data (bytes-like) and
        return how many bytes that was (None: all of them).  A host that does not
        read must never stall the loop: the link (protocol.py) keeps the rest in
        a bounded buffer and drops whole frames when it is full."""
        raise NotImplementedError

    def link_id(self):
        """A small int that changes whenever the host link's connection changes:
        the port closed or opened (a pty reopened, a TCP client accepted or gone,
        USB DTR dropped), a second client.  Maintenance sessions belong to one
        connection (protocol.py ends them on a change).  0: a link that cannot
        tell (a bare UART)."""
        return 0

    # --- EEG input -------------------------------------------------------
    def eeg_fs(self):
        """EEG sampling rate in Hz (float), or 0 if no EEG is attached."""
        raise NotImplementedError

    def eeg_readinto(self, buf):
        """Non-blocking: copy waiting samples (µV) into buf (array('f')), return the count."""
        raise NotImplementedError

    # --- watchdog --------------------------------------------------------
    def wdt_feed(self):
        """Feed the watchdog; call only after the main loop's health checks pass."""
        raise NotImplementedError

    def reset_cause(self):
        """'power_on', 'watchdog' or 'soft'."""
        raise NotImplementedError
