"""statim run: the emulated bedside unit.

In a terminal: the interactive front panel (keys for buttons, q quits), with
the unit's UART on a pseudo-terminal whose path is printed.  Without a
terminal (CI, a pipe): the demo scenario at accelerated time, printing the
screens as they change and the event log.
"""
import os
import sys

from host_tools import cliutil

DEMO = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                    "scenarios", "demo_refractory.yaml")


def _frame_name(used, stem):
    """stem.png, or stem_2.png, stem_3.png ... when the screen changed more than once that second."""
    name, k = stem + ".png", 1
    while name in used:
        k += 1
        name = "%s_%d.png" % (stem, k)
    used.add(name)
    return name


def demo(path, png_dir=None):
    from emulator import runner, scenario
    from emulator.display import onset_name, render_png, render_text

    sc = scenario.load(path)
    r = runner.Runner(sc)
    emu = r.emu
    print("Statim emulated unit: %s" % sc.name)
    print("(virtual time; the clock jumps from deadline to deadline)\n")
    last = None
    used = set()
    for step in sc.steps:
        r_step = getattr(r, "do_" + step.command.replace("-", "_"))
        r_step(step.value)
        scr = emu.unit.ui.render(emu.unit.now())
        text = render_text(scr)
        if text != last:
            label = step.note or "%s %s" % (step.command, step.value if not isinstance(step.value, int) else scenario.format_duration(step.value))
            print("t = %s  (%s)  light %s, buzzer %s" % (scenario.format_duration(r.t_ms()), label, emu.board.led, emu.board.tone))
            print(text + "\n")
            if png_dir:
                os.makedirs(png_dir, exist_ok=True)
                render_png(scr, os.path.join(png_dir, _frame_name(used, onset_name(emu.unit.elapsed_s()))),
                           light=emu.board.led, flashing=emu.board.leds[-1][2] if emu.board.leds else False)
            last = text
    print("Event log (%d events):" % len(emu.unit.events))
    for i, ev in enumerate(emu.unit.events):
        fields = ", ".join("%s=%s" % (k, v) for k, v in ev.items() if k not in ("type", "t") and v is not None)
        print("  #%-3d %s  %-9s %s" % (i, scenario.format_duration((ev["t"] - emu.unit.events[0]["t"]) * 1000),
                                     ev["type"], fields[:90]))
    status = emu.unit.status()
    print("\nstage: %s; seizure active: %s; flags: %s" % (status["stage"], status["seizure_active"],
                                                         ", ".join(status["flags"]) or "none"))
    return 0


def run(args):
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and not args.demo
    if not interactive:
        return demo(args.scenario or DEMO, args.png)
    from emulator import panel

    for opt, given in (("--png", args.png), ("--scenario", args.scenario)):
        if given:
            print("statim run: %s is for the demo, not the front panel: ignored here (use statim run --demo %s %s)"
                  % (opt, opt, given), file=sys.stderr)
    weight_kg = args.weight / 1000.0 if args.weight else None  # none given: the unit asks at the first dose
    emu = panel.run(speed=args.speed, weight_kg=weight_kg, se_type=args.se_type, flash_dir=args.flash)
    print("front panel closed after %d events; flash at %s" % (len(emu.unit.events), emu.board.flash.root))
    return 0


def register(sub):
    p = sub.add_parser("run", help="the emulated bedside unit (front panel, or the demo without a terminal)")
    p.add_argument("--demo", action="store_true", help="play the demo scenario even in a terminal")
    p.add_argument("--scenario", help="scenario to play in demo mode (default: the refractory SE demo)")
    p.add_argument("--png", metavar="DIR", help="demo mode: also write each screen as PNG into DIR, named by "
                                                "time since onset (t+00h05m00s.png; in a terminal, add --demo)")
    p.add_argument("--speed", type=float, default=1.0, help="front panel: virtual seconds per real second")
    p.add_argument("--weight", type=cliutil.weight_arg("--weight", allow_bare=True), default=None,
                   help="front panel: patient weight with unit, 70kg or 154lb (default: none; the unit asks "
                        "for it at the first dose)")
    p.add_argument("--se-type", default="convulsive", choices=["convulsive", "focal_impaired", "absence"],
                   help="front panel: the SE type the timer starts with (default convulsive)")
    p.add_argument("--flash", metavar="DIR", help="keep the unit's flash in DIR (default: a temporary folder)")
    p.set_defaults(func=run)
