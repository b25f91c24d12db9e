"""statim plot eeg SOURCE --png OUT: the EEG over hours as a picture.

SOURCE is a unit's log (`statim log export`, JSON or CSV), `statim detect --json`
output, or an EEG recording (EDF/BDF, or text with --fs, run through the detector).
The picture: BSR % above, seizure burden % below, over time since onset (from a
log) or since the recording's start, in h:mm; seizure runs shaded, burst
suppression shaded, electrographic SE onset and doses marked (host_tools/eegplot.py).
"""
from host_tools.cliutil import CommandError, UsageError


def run_eeg(args):
    from host_tools import eegplot

    try:
        trace = eegplot.load(args.source, args.fs)
    except eegplot.SourceError as e:
        raise UsageError(str(e))
    except ValueError as e:  # an EEG file the detector cannot read
        raise CommandError("%s: %s" % (args.source, e))
    eegplot.save_png(trace, args.png)
    print("%s: %s over %s since %s; %d seizure run(s), %d burst-suppression run(s)%s, %d dose(s)" % (
        args.png, "BSR and burden" if trace.bsr else "burden", eegplot.hmm(trace.end_s), trace.origin,
        len(trace.seizures), len(trace.bs),
        ", EEG SE at %s" % eegplot.hmm(trace.se_on[0]) if trace.se_on else "", len(trace.doses)))
    return 0


def register(sub):
    p = sub.add_parser("plot", help="pictures: the EEG's BSR and seizure burden over hours (PNG)")
    psub = p.add_subparsers(dest="plot_what", metavar="WHAT", required=True)
    e = psub.add_parser("eeg", help="BSR and seizure-burden trends with seizures, SE onset and doses marked")
    e.add_argument("source", metavar="SOURCE",
                   help="a log export (statim log export, JSON or CSV), statim detect --json output, "
                        "or an EEG recording (EDF/BDF, or text with --fs)")
    e.add_argument("--png", required=True, metavar="OUT", help="the PNG file to write")
    e.add_argument("--fs", type=float, help="sampling rate in Hz of an EEG text file")
    e.set_defaults(func=run_eeg)
