# The serial link's bedside requests (docs/protocol.md): every command but HELLO,
# PING and STATUS, which a nurse's station polls and protocol.py answers itself.
# Loaded when such a request arrives and let go REQUESTS_KEEP_S after the last
# one (protocol.Link._requests), so an idle unit keeps only the framing.
# Functions of the link: cmd_<name>(link, args) -> reply data.
from . import events as _events
from . import frames as _f
from .protocol import (_LIMIT, LOG_PAGE_MAX, ONSET_BACK_MAX_S, SETTING_KEYS, LinkError, _args_error, _bool_arg,
                       _fit, _int_arg, _req, dumps)
def cmd_onset(link, args):
    at = None
    if "at" in args:  # episode seconds: when the seizure really began, before now
        now = link.unit.now()
        at = _int_arg(args, "at", now - ONSET_BACK_MAX_S if now > ONSET_BACK_MAX_S else 0, now)
    se_type = args.get("type")
    if se_type is not None and se_type not in _events.SE_TYPES:
        raise _args_error("type must be one of %s" % ", ".join(_events.SE_TYPES))
    return link._seq_reply(link.unit.onset(se_type, at))


def cmd_stop(link, args):
    return link._seq_reply(link.unit.seizure_stop())


def cmd_recur(link, args):
    return link._seq_reply(link.unit.seizure_recur())


def cmd_recovered(link, args):
    return link._seq_reply(link.unit.recovered())


def cmd_weight(link, args):
    v = link.unit.enter_weight(_req(args, "value"), args.get("override"), args.get("age"))
    if not v["logged"]:
        _refused(link, v)
    ev = v["event"]
    return link._seq_reply(ev) + " grams=%d verdict=%s" % (ev["grams"], v["verdict"])


def _refused(link, v):
    verdict = v.get("verdict")
    code = _f.E_HARD if verdict == "hard" else _f.E_SOFT if verdict == "soft" else _f.E_INVALID
    # the limits that decided it first, then the checker's other messages
    first = [lim.get("message", "") for lim in v.get("limits") or [] if lim.get("level") == verdict]
    msgs = first + [m for m in v.get("messages") or [] if m not in first and not m.startswith("age group not given")]
    raise LinkError(code, "%s, not logged: %s" % (verdict, "; ".join(msgs) or "refused"))


def _dose_kw(link, args):
    kw = {}
    for key in ("dose", "rate", "over", "duration"):
        if key in args:
            kw[key] = args[key]
    if "dose" not in kw and "rate" not in kw:
        raise _args_error("give dose= (a bolus, e.g. \"4 mg\") or rate= (an infusion)")
    return kw


def _verdict(link, v, seq=None):
    out = {}
    if seq is not None:
        out["seq"] = seq
    for key in ("verdict", "drug", "route", "mode", "line", "weight_g", "dose_ug", "target", "maximum",
                "volume_ml", "pump_ml_h", "min_minutes", "rate", "counts_as_adequate", "bzd_permille",
                "bzd_cumulative_permille", "second_line_adequate", "library_version", "messages", "cautions"):
        val = v.get(key)
        if val is not None and val != [] and val != "":
            out[key] = val
    return _fit(out, _LIMIT - 40, ("cautions", "library_version", "bzd_cumulative_permille"))


def cmd_check(link, args):
    kw = _dose_kw(link, args)
    return _verdict(link, link.unit.check(_req(args, "drug"), _req(args, "route"), **kw))


def cmd_dose(link, args):
    return _give(link, _req(args, "drug"), _req(args, "route"), _dose_kw(link, args), args.get("override"))


def _give(link, drug, route, kw, override):
    v = link.unit.give(drug, route, override=override, **kw)
    if v.get("logged"):
        return _verdict(link, v, link._seq(v["event"]))
    _refused(link, v)


def cmd_ack(link, args):
    # absent: every active alarm; empty is an error (_handle), an unknown name is refused
    evs = link.unit.ack_alarm(args.get("alarm"))
    return "seq=%s" % ",".join([str(link._seq(e)) for e in evs])


def cmd_pause(link, args):
    return link._seq_reply(link.unit.pause_audio())


def cmd_note(link, args):
    return link._seq_reply(link.unit.note(_req(args, "text")))


def cmd_flag(link, args):
    return link._seq_reply(link.unit.flag(_req(args, "name"), _bool_arg(args, "value")))


def cmd_infusion(link, args):
    action = _req(args, "action")
    drug = _req(args, "drug")
    if action == "stop":
        if "rate" in args:
            raise _args_error("a stop takes no rate")
        return link._seq_reply(link.unit.stop_infusion(drug))
    if action not in _events.INFUSION_ACTIONS:
        raise _args_error("action must be one of %s" % ", ".join(_events.INFUSION_ACTIONS))
    # a start or change is a rate: checked by the dose checker as DOSE rate= is
    rate = _int_arg(args, "rate", 1, 100000000)
    key = link.unit.library.resolve_drug(drug) if link.unit.library.verified else None
    if key is not None and link.unit._infusion_running(key) != (action == "change"):
        raise ValueError("%s infusion %s: use %s" % (
            key, "is running" if action == "start" else "is not running",
            "change" if action == "start" else "start"))
    return _give(link, drug, "infusion", {"rate": "%d mcg/kg/h" % rate}, args.get("override"))


def cmd_wean(link, args):
    return link._seq_reply(link.unit.wean(args.get("action", "start")))


def cmd_void(link, args):
    return link._seq_reply(link.unit.void(_int_arg(args, "seq", 0), _req(args, "reason")))


def cmd_log(link, args):
    evs = link.unit.events
    total = len(evs)
    start = _int_arg(args, "from", 0, None, 0)
    most = _int_arg(args, "max", 1, LOG_PAGE_MAX, LOG_PAGE_MAX)
    head = '{"from":%d,"total":%d,"next":%%d,"events":[' % (start, total)
    budget = _LIMIT - len(head) - 48
    parts = []  # type: list
    used = 0
    i = start
    while i < total and len(parts) < most:
        text = link._event_json(evs[i], budget)
        if parts and used + len(text) + 1 > budget:
            break
        parts.append(text)
        used += len(text) + 1
        i += 1
    return (head % i) + ",".join(parts) + "]}"


def cmd_settings(link, args):
    cfg = link.unit.config
    if args:  # a change: _handle has checked the session and the request's signature
        link._maintenance().change_settings(args)
    out = {}
    for key in ("unit_id",) + SETTING_KEYS:
        out[key] = cfg.get(key)
    return dumps(out)
