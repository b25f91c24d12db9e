"""statim devs: the serial ports on this host (pyserial's list_ports), as `mpremote devs`.

One line per port: device, serial number, VID:PID, manufacturer, product, and
`statim?` for a port that may be a Statim unit (a Raspberry Pi Pico or a
MicroPython USB device) -- the one `auto` picks is the first of those.
"""
import json
import sys

from host_tools import link as _link


def rows():
    out = []
    for info in sorted(_link.comports(), key=lambda i: i.device):
        out.append({"device": info.device, "serial_number": getattr(info, "serial_number", None),
                    "vid_pid": "%04x:%04x" % (info.vid, info.pid) if info.vid is not None else None,
                    "manufacturer": info.manufacturer, "product": info.product, "description": info.description,
                    "statim_looking": bool(_link.statim_looking(info))})
    return out


def run(args):
    ports = rows()
    if args.json:
        print(json.dumps(ports, indent=2))
        return 0
    if not ports:
        print("no serial ports found (is the unit plugged in? a board needs a data USB cable)", file=sys.stderr)
        return 0
    for p in ports:
        print("%s %s %s %s %s%s" % (p["device"], p["serial_number"] or "None", p["vid_pid"] or "0000:0000",
                                    p["manufacturer"] or "None", p["product"] or p["description"] or "None",
                                    "  statim?" if p["statim_looking"] else ""))
    return 0


def register(sub):
    p = sub.add_parser("devs", help="list the serial ports (marks the ones that may be a Statim unit)")
    p.add_argument("--json", action="store_true", help="print the ports as JSON")
    p.set_defaults(func=run)
