#!/usr/bin/env python3
"""An independent verifier of Stockade evidence packages and tlog-proofs.

Written from docs/EVIDENCE-FORMAT.md, docs/WITNESS.md and the C2SP and RFC
specifications they cite, and nothing else: no code of Stockade's. It needs
Python 3.9 or later and one package for Ed25519 (`cryptography`).

    stockade_verify.py package PKG.tar --key LOG_KEY [--witness KEY]... [--quorum N] [--since CHECKPOINT]
    stockade_verify.py tlog-proof FILE --key LOG_KEY [--witness KEY]... [--quorum N]
    stockade_verify.py jcs FILE|-      (the RFC 8785 encoding of a JSON document)

It prints one line per check (`ok`, `FAIL`, `note`), then VERIFIED or NOT
VERIFIED, and exits 0 when verified, 1 when not, 2 on a usage error.
"""

import argparse
import base64
import binascii
import hashlib
import json
import math
import re
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT_1 = "stockade-evidence-package/1"
FORMAT_2 = "stockade-evidence-package/2"
FORMAT_3 = "stockade-evidence-package/3"
FORMATS = (FORMAT_1, FORMAT_2, FORMAT_3)
MAX_SAFE = 2**53 - 1
EM_DASH = "\u2014"


class Refused(Exception):
    """A check failed; the message says why."""


# --- encodings (one spelling only) -------------------------------------------

def b64(s):
    """Canonical standard base64 (RFC 4648 §4, padded, spare bits zero)."""
    if not isinstance(s, str) or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", s) or len(s) % 4:
        raise Refused(f"{s!r} is not canonical base64")
    try:
        raw = base64.b64decode(s, validate=True)
    except binascii.Error as e:
        raise Refused(f"{s!r} is not canonical base64: {e}")
    if base64.b64encode(raw).decode() != s:
        raise Refused(f"{s!r} is not canonical base64 (spare bits are not zero)")
    return raw


def b64_hash(s):
    h = b64(s)
    if len(h) != 32:
        raise Refused(f"a hash is 32 bytes, not {len(h)}")
    return h


def lower_hex(s, size):
    if not isinstance(s, str) or not re.fullmatch(r"[0-9a-f]{%d}" % (2 * size), s):
        raise Refused(f"{s!r} is not {2 * size} lowercase hex digits")
    return bytes.fromhex(s)


def sha256(b):
    return hashlib.sha256(b).digest()


# --- RFC 6962 / 9162 Merkle trees ----------------------------------------------

def leaf_hash(entry):
    return sha256(b"\x00" + entry)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        raise Refused(f"leaf {index} is beyond the tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise Refused("the inclusion proof is longer than the tree is deep")
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Refused("the inclusion proof is shorter than the tree is deep")
    if r != root:
        raise Refused("the inclusion proof does not lead to the signed root")


def verify_consistency(size1, size2, proof, root1, root2):
    """RFC 9162 §2.1.4.2."""
    if size1 < 1 or size1 > size2:
        raise Refused(f"no consistency proof leads from {size1} leaves to {size2}")
    if size1 == size2:
        if proof:
            raise Refused("a proof between equal sizes must be empty")
        if root1 != root2:
            raise Refused("same size, different roots")
        return
    if not proof:
        raise Refused("the consistency proof is empty")
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is the first node
        proof = [root1] + list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn % 2 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise Refused("the consistency proof is too long")
        if fn % 2 == 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != root1 or sr != root2:
        raise Refused("the consistency proof does not lead from the old root to the new one")


# --- C2SP signed notes, checkpoints, cosignatures ------------------------------

class VerifierKey:
    """`<name>+<8 hex key ID>+<base64(type ‖ public key)>` (c2sp.org/signed-note)."""

    def __init__(self, text, kind):
        parts = text.split("+", 2)  # the name has no "+"; base64 may
        if len(parts) != 3 or not parts[0] or any(c.isspace() for c in parts[0]):
            raise Refused(f"{text!r} is not a verifier key name+id+key")
        name, key_id, key = parts
        raw = b64(key)
        if len(raw) != 33 or raw[0] != kind:
            raise Refused(f"{text!r} is not an Ed25519 key of type 0x{kind:02x}")
        self.name = name
        self.key_id = sha256(name.encode() + b"\n" + raw)[:4]
        if key_id != self.key_id.hex():
            raise Refused(f"{text!r}: its key ID is not the hash of its name and key")
        self.public = Ed25519PublicKey.from_public_bytes(raw[1:])

    def valid(self, signature, message):
        try:
            self.public.verify(signature, message)
            return True
        except InvalidSignature:
            return False


def split_note(note):
    """A signed note's text and its signature lines [(name, bytes)]."""
    try:
        s = note.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("the note is not UTF-8")
    at = s.rfind("\n\n")
    if at < 0 or not s.endswith("\n"):
        raise Refused("not a signed note (no empty line before its signatures)")
    text, sigs = s[: at + 1], s[at + 2 :]
    lines = []
    for line in sigs[:-1].split("\n"):
        m = re.fullmatch(EM_DASH + r" (\S+) (\S+)", line)
        if not m:
            raise Refused(f"a signature line is malformed: {line[:80]!r}")
        raw = b64(m.group(2))
        if len(raw) < 5:
            raise Refused("a signature line is too short")
        lines.append((m.group(1), raw))
    if not lines:
        raise Refused("the note carries no signature")
    return text, lines


def open_note(note, key):
    """Checks the note's signature by `key` (type 0x01); returns its text."""
    text, lines = split_note(note)
    for name, raw in lines:
        if name == key.name and raw[:4] == key.key_id:
            if key.valid(raw[4:], text.encode()):
                return text
            raise Refused(f"the signature of {key.name} does not verify")
    raise Refused(f"no signature by {key.name} (key {key.key_id.hex()})")


def parse_checkpoint(text):
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise Refused("a checkpoint is origin, size and root, one a line")
    origin, size, root = lines[0], lines[1], lines[2]
    if not re.fullmatch(r"0|[1-9][0-9]*", size):
        raise Refused(f"the checkpoint's size {size!r} is not a decimal")
    return origin, int(size), b64_hash(root)


def check_witnesses(note, text, witnesses, quorum):
    """tlog-cosignature: the named witnesses' valid cosignatures (name, time)."""
    _, lines = split_note(note)
    seen = {}
    for w in witnesses:
        for name, raw in lines:
            if name != w.name or raw[:4] != w.key_id:
                continue
            if len(raw) != 4 + 8 + 64:
                raise Refused(f"the cosignature of {w.name} is not timestamp and signature")
            (t,) = struct.unpack(">Q", raw[4:12])
            message = f"cosignature/v1\ntime {t}\n".encode() + text.encode()
            if not w.valid(raw[12:], message):
                raise Refused(f"the cosignature of {w.name} does not verify")
            seen[w.name] = t
    if len(seen) < quorum:
        raise Refused(f"{len(seen)} of the witnesses named cosigned it; {quorum} required")
    return seen


# --- entries -------------------------------------------------------------------

def event_entry(seq, received_us, commit, epcis):
    out = b"\x01" + struct.pack(">Q", seq) + struct.pack(">q", received_us) + commit
    if epcis is not None:
        m = re.fullmatch(r"ni:///sha-256;([0-9a-f]{64})\?ver=CBV2\.0", epcis)
        if not m:
            raise Refused(f"{epcis!r} is not a CBV 2.0 hash ID")
        out += bytes.fromhex(m.group(1))
    return out


def word(s, what):
    if not isinstance(s, str) or not s or not all(0x21 <= ord(c) <= 0x7E for c in s):
        raise Refused(f"{what} {s!r} is not printable ASCII without spaces")
    return s


def text_entry(kind, fields, canon, commit):
    """`stockade/<kind> f=v ...[ canon=jcs] commit=<hex>`."""
    body = " ".join(f"{k}={v}" for k, v in fields)
    mark = " canon=jcs" if canon == "jcs" else ""
    return f"stockade/{kind} {body}{mark} commit={commit.hex()}".encode()


def describe_entry(entry):
    """Reads any entry; refuses what is not one of the four kinds."""
    if entry[:1] == b"\x01":
        if len(entry) not in (49, 81):
            raise Refused(f"an event entry is 49 or 81 bytes, not {len(entry)}")
        seq, received = struct.unpack(">Qq", entry[1:17])
        line = f"stockade/event seq={seq} received={received} commit={entry[17:49].hex()}"
        if len(entry) == 81:
            line += f" epcis=ni:///sha-256;{entry[49:].hex()}?ver=CBV2.0"
        return line
    try:
        text = entry.decode("ascii")
    except UnicodeDecodeError:
        raise Refused("the entry is neither an event nor ASCII text")
    kind = text.split(" ", 1)[0]
    shapes = {
        "stockade/evidence": r"id=[!-~]+ sha256=[0-9a-f]{64} size=(0|[1-9][0-9]*) at=(0|-?[1-9][0-9]*)",
        "stockade/custody": r"evidence=[!-~]+ n=(0|[1-9][0-9]*) action=[!-~]+ at=(0|-?[1-9][0-9]*)",
        "stockade/audit": r"n=(0|[1-9][0-9]*) action=[!-~]+ at=(0|-?[1-9][0-9]*)",
    }
    if kind not in shapes:
        raise Refused(f"unknown entry type {kind[:40]!r}")
    if not re.fullmatch(re.escape(kind) + " " + shapes[kind] + r"( canon=jcs)? commit=[0-9a-f]{64}", text):
        if re.search(r" canon=(?!jcs )", text):
            raise Refused("the entry names a canon other than jcs")
        raise Refused(f"not a {kind} entry in its one encoding")
    return text


# --- RFC 8785 (JSON Canonicalization Scheme) -----------------------------------

def es_number(x):
    """ECMAScript's Number::toString for a double (RFC 8785 §3.2.2.3)."""
    if isinstance(x, bool):
        raise Refused("a boolean is not a number")
    if isinstance(x, int):
        if abs(x) > MAX_SAFE:
            raise Refused(f"the integer {x} is beyond ±(2^53 − 1)")
        return str(x)
    if math.isnan(x) or math.isinf(x):
        raise Refused("NaN and infinities are not JSON")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    r = repr(abs(x))  # the shortest digits that round-trip, as ECMAScript chooses them
    mantissa, _, exp = r.partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    point = len(whole) + (int(exp) if exp else 0)  # where the point sits, counted from the first digit of whole
    point -= len(whole + frac) - len((whole + frac).lstrip("0"))
    digits = digits.rstrip("0") or "0"
    k, n = len(digits), point
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        out = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e > 0 else "-") + str(abs(e))
    return sign + out


def jcs_string(s):
    out = ['"']
    for c in s:
        o = ord(c)
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif o < 0x20:
            out.append({8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}.get(o, "\\u%04x" % o))
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def jcs(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return es_number(v)
    if isinstance(v, str):
        return jcs_string(v)
    if isinstance(v, list):
        return "[" + ",".join(jcs(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(jcs_string(k) + ":" + jcs(v[k]) for k in keys) + "}"
    raise Refused(f"{type(v).__name__} is not JSON")


# Format 2's rule: compact JSON, members in each record type's fixed order.
ORDER = {
    "evidence": ["id", "incident", "class", "sha256", "size", "media_type", "collected_by", "collected_from",
                 "original_from", "original_to", "description", "collected_us", "retain_until_us"],
    "custody": ["evidence", "n", "action", "actor", "at_us", "reason", "party"],
    "audit": ["n", "action", "actor", "at_us", "detail"],
}


def compact(v):
    if isinstance(v, float):
        raise Refused("format 2's rule does not specify fractional numbers")
    if isinstance(v, dict):
        return "{" + ",".join(compact_string(k) + ":" + compact(x) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(compact(x) for x in v) + "]"
    if isinstance(v, str):
        return compact_string(v)
    return jcs(v)


def compact_string(s):
    return jcs_string(s)  # the same escapes (section 5)


def content(kind, record, canon):
    if canon == "jcs":
        return jcs(record).encode()
    ordered = {k: record[k] for k in ORDER[kind] if k in record}
    return compact(ordered).encode()


# --- records: exactly their type's members -------------------------------------

STR, INT, ANY = "string", "integer", "any"
TYPES = {
    "evidence": {"id": STR, "incident": STR, "class": STR, "sha256": STR, "size": INT, "media_type": STR,
                 "collected_by": STR, "collected_from": STR, "original_from": STR, "original_to": STR,
                 "description": STR, "collected_us": INT, "retain_until_us": INT},
    "custody": {"evidence": STR, "n": INT, "action": STR, "actor": STR, "at_us": INT, "reason": STR, "party": STR},
    "audit": {"n": INT, "action": STR, "actor": STR, "at_us": INT, "detail": ANY},
}
OPTIONAL = {"original_from", "original_to", "party"}
ACTIONS = {"collected", "viewed", "downloaded", "exported", "transferred", "sealed", "hold_set", "hold_lifted",
           "expired"}


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_record(kind, r):
    if not isinstance(r, dict):
        raise Refused("its record is not an object")
    types = TYPES[kind]
    for k, v in r.items():
        if k not in types:
            raise Refused(f"its record holds a member its type does not: {k!r}")
        t = types[k]
        if v is None:
            raise Refused(f"its record holds null for {k!r}: absent members are left out")
        if t == STR and not isinstance(v, str) or t == INT and not is_int(v):
            raise Refused(f"its record's {k!r} is not a JSON {t}")
        if t == INT and not (0 <= v if k in ("size", "n") else True):
            raise Refused(f"its record's {k!r} is negative")
    for k in types:
        if k not in r and k not in OPTIONAL:
            raise Refused(f"its record lacks {k!r}")
    if kind == "custody" and r["action"] not in ACTIONS:
        raise Refused(f"custody action {r['action']!r} is not one of the nine")
    check_numbers(r)


def check_numbers(v):
    if is_int(v) and abs(v) > MAX_SAFE:
        raise Refused(f"the integer {v} is beyond ±(2^53 − 1)")
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        raise Refused("NaN and infinities are not JSON")
    if isinstance(v, list):
        for x in v:
            check_numbers(x)
    if isinstance(v, dict):
        for x in v.values():
            check_numbers(x)


def record_entry(kind, r, canon, salt):
    commit = sha256(salt + sha256(content(kind, r, canon)))
    if kind == "evidence":
        fields = [("id", word(r["id"], "evidence id")), ("sha256", lower_hex(r["sha256"], 32).hex()),
                  ("size", r["size"]), ("at", r["collected_us"])]
    elif kind == "custody":
        fields = [("evidence", word(r["evidence"], "evidence id")), ("n", r["n"]),
                  ("action", word(r["action"], "action")), ("at", r["at_us"])]
    else:
        fields = [("n", r["n"]), ("action", word(r["action"], "action")), ("at", r["at_us"])]
    return text_entry(kind, fields, canon, commit)


# --- the archive -----------------------------------------------------------------

def octal(value, width):
    return ("%0*o" % (width - 1, value)).encode() + b"\0"


def canonical_header(name, size):
    h = bytearray(512)
    raw = name.encode()
    if len(raw) > 100:
        raise Refused(f"the part name {name!r} is longer than 100 bytes")
    h[0:len(raw)] = raw
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = octal(size, 12)
    h[136:148] = b"00000000000\0"
    h[148:156] = b" " * 8
    h[156:157] = b"0"
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = ("%07o" % sum(h)).encode() + b"\0"
    return bytes(h)


def read_archive(data):
    """The parts [(name, bytes)], refusing anything but the canonical form."""
    parts, at = [], 0
    while True:
        if at + 512 > len(data):
            raise Refused("the archive ends inside a header (no end-of-archive blocks)")
        header = data[at:at + 512]
        if header == bytes(512):
            if data[at:] != bytes(1024):
                raise Refused("the archive does not end with exactly two zero blocks")
            return parts
        name = header[0:100].split(b"\0", 1)[0].decode("utf-8", "replace")
        size_field = header[124:136]
        if not re.fullmatch(rb"[0-7]{11}\0", size_field):
            raise Refused(f"the header of {name!r} has a malformed size")
        size = int(size_field[:11], 8)
        if header != canonical_header(name, size):
            raise Refused(f"the header of {name!r} is not the canonical one")
        start = at + 512
        end = start + size
        padded = start + (size + 511) // 512 * 512
        if padded > len(data):
            raise Refused(f"{name!r} is truncated")
        if data[end:padded] != bytes(padded - end):
            raise Refused(f"the padding after {name!r} is not zero bytes")
        parts.append((name, data[start:end]))
        at = padded


# --- MANIFEST.txt (formats 1 and 2: compared with its rendering) ----------------------

def rfc3339(us):
    import datetime
    try:
        t = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(microseconds=us)
    except OverflowError:
        return str(us)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"


def render(m):
    out = []
    line = out.append
    log = m["log"]
    line(f"Stockade evidence package \u2014 incident {m['incident']}")
    line(f"Created {rfc3339(m['created_us'])} by {m['created_by']}")
    line(f"Log {log['origin']} at {log['tree_size']} leaves, root {log['root']}")
    line("")
    o = (m.get("opened") or {}).get("record")
    if o is not None:
        d = o.get("detail")
        d = d if isinstance(d, dict) else {}

        def field(k):
            v = d.get(k)
            return v if isinstance(v, str) else "-"
        line(f"Opened {rfc3339(o['at_us'])} by {o['actor']} (audit record #{o['n']}):")
        line(f"  {field('title')}")
        line(f"  site {field('site')}, severity {field('severity')}, {field('from')} to {field('to')}")
        if isinstance(d.get("scenario"), str):
            line(f"  scenario {d['scenario']}")
        if isinstance(d.get("summary"), str) and d["summary"]:
            line(f"  {d['summary']}")
        events = d.get("events")
        line(f"  cites {len(events) if isinstance(events, list) else 0} events")
        line("")
    line(f"Evidence ({len(m['evidence'])}):")
    for e in m["evidence"]:
        r = e["record"]
        line(f"  {r['id']}  {r['media_type']}  {r['size']} bytes  sha256 {r['sha256']}")
        line(f"    collected {rfc3339(r['collected_us'])} by {r['collected_by']} from {r['collected_from']}")
        if "original_from" in r and "original_to" in r:
            line(f"    covers {r['original_from']} to {r['original_to']}")
        line(f"    {r['description']}")
        where = f"file {e['file']}" if e.get("file") is not None else "expired: file deleted, record kept"
        line(f"    class {r['class']}, kept until {rfc3339(r['retain_until_us'])}; {where}")
        for c in m["custody"]:
            c = c["record"]
            if c["evidence"] != r["id"]:
                continue
            party = f" to {c['party']}" if "party" in c else ""
            line(f"    #{c['n']} {rfc3339(c['at_us'])} {c['action']}{party} by {c['actor']}: {c['reason']}")
    line("")
    line(f"Events ({len(m['events'])}):")
    for e in m["events"]:
        line(f"  seq {e['seq']}  received {rfc3339(e['received_us'])}  sha256 {e['sha256']}  {e['file']}")
    line("")
    line("Check offline: stockade verify PACKAGE --key VERIFIER_KEY")
    return "".join(x + "\n" for x in out).encode()


# --- packages ----------------------------------------------------------------------

class Report:
    def __init__(self):
        self.ok, self.failures, self.notes = [], [], []

    def fail(self, part, why):
        self.failures.append((part, str(why)))


def no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise Refused(f"member {k!r} appears twice in one object")
        d[k] = v
    return d


def load_manifest(raw):
    def no_constants(c):
        raise Refused(f"{c} is not JSON")
    value = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates, parse_constant=no_constants)
    check_unicode(value)
    return value


def check_unicode(v):
    """Strings are Unicode text: an escaped lone surrogate (\\ud800) is not."""
    if isinstance(v, str):
        if any(0xD800 <= ord(c) <= 0xDFFF for c in v):
            raise Refused("a string holds a lone surrogate (\\uD800-\\uDFFF escape): not Unicode text")
    elif isinstance(v, list):
        for x in v:
            check_unicode(x)
    elif isinstance(v, dict):
        for k, x in v.items():
            check_unicode(k)
            check_unicode(x)


def want(obj, key, kind, where="manifest.json"):
    if not isinstance(obj, dict) or key not in obj:
        raise Refused(f"{where} lacks {key!r}")
    v = obj[key]
    ok = {"string": isinstance(v, str), "integer": is_int(v) and v >= 0, "array": isinstance(v, list),
          "object": isinstance(v, dict)}[kind]
    if not ok:
        raise Refused(f"{where}: {key!r} is not a JSON {kind}")
    return v


def check_leaf(report, label, entry, item, size, root):
    try:
        index = want(item, "leaf_index", "integer", label)
        proof = [b64_hash(h) for h in want(item, "proof", "array", label)]
        verify_inclusion(index, size, leaf_hash(entry), proof, root)
        report.ok.append(f"{label}: leaf {index} is in the log")
    except Refused as e:
        report.fail(label, e)


def check_chain(chain):
    """Section 11's custody rules; returns whether the item expired."""
    held = sealed = expired = False
    for i, r in enumerate(chain):
        a = r["action"]
        if r["n"] != i:
            raise Refused(f"entry {i} is numbered {r['n']}")
        if (a == "collected") != (i == 0):
            raise Refused("the first entry, and only the first, is `collected`")
        if expired:
            raise Refused("an entry follows `expired`")
        if a == "hold_set":
            if held:
                raise Refused("a hold is set twice")
            held = True
        elif a == "hold_lifted":
            if not held:
                raise Refused("a hold is lifted that was not set")
            held = False
        elif a == "sealed":
            if sealed:
                raise Refused("sealed twice")
            sealed = True
        elif a == "transferred" and sealed:
            raise Refused("transferred after it was sealed")
        elif a == "expired":
            if held:
                raise Refused("expired under a legal hold")
            expired = True
    if not chain:
        raise Refused("it has no custody chain")
    return expired


def verify_package(data, log_key, witnesses=(), quorum=0, since=None):
    report = Report()
    try:
        parts = read_archive(data)
    except Refused as e:
        report.fail("archive", e)
        return report
    names = [n for n, _ in parts]
    for n in set(names):
        if names.count(n) > 1:
            report.fail(n, "appears twice")
    files = dict(parts)
    head = names[:3]
    if head != ["MANIFEST.txt", "manifest.json", "manifest.sig"]:
        report.fail("archive", "the parts do not start with MANIFEST.txt, manifest.json, manifest.sig")
        return report
    txt, raw, sig = files["MANIFEST.txt"], files["manifest.json"], files["manifest.sig"]
    try:
        signed = open_note(sig, log_key)
    except Refused as e:
        report.fail("manifest.sig", e)
        return report
    json_line = f"manifest.json sha256 {sha256(raw).hex()}"
    txt_line = f"MANIFEST.txt sha256 {sha256(txt).hex()}"
    first = signed.split("\n", 1)[0]
    if first not in FORMATS:
        report.fail("manifest.sig", f"signed for {first!r}, a format this verifier does not know")
        return report
    expected = f"{first}\n{json_line}\n" + (f"{txt_line}\n" if first == FORMAT_3 else "")
    if signed != expected:
        lines = signed.split("\n")
        if len(lines) > 1 and lines[1] != json_line:
            report.fail("manifest.json", "its SHA-256 is not the one manifest.sig signs")
        else:
            report.fail("MANIFEST.txt", "its SHA-256 is not the one manifest.sig signs")
        return report
    report.ok.append("manifest.sig: signed by the log's key")
    try:
        m = load_manifest(raw)
        fmt = want(m, "format", "string")
        if fmt != first:
            raise Refused(f"its format {fmt!r} is not the one manifest.sig signs ({first})")
        incident = want(m, "incident", "string")
        log = want(m, "log", "object")
        origin = want(log, "origin", "string", "log")
        tree_size = want(log, "tree_size", "integer", "log")
        log_root = b64_hash(want(log, "root", "string", "log"))
        checkpoint = want(log, "checkpoint", "string", "log").encode()
        for k in ("evidence", "custody", "events"):
            want(m, k, "array")
        if "opened" in m and not isinstance(m["opened"], dict):
            raise Refused("`opened` is not an object")
    except (Refused, ValueError, UnicodeDecodeError) as e:
        report.fail("manifest.json", e)
        return report
    if fmt != FORMAT_3:
        try:
            if render(m) != txt:
                report.fail("MANIFEST.txt", "differs from what manifest.json says")
        except (KeyError, TypeError, AttributeError) as e:
            report.fail("manifest.json", f"lacks what MANIFEST.txt shows: {e}")

    # The checkpoint and its witnesses.
    try:
        cp_text = open_note(checkpoint, log_key)
        cp_origin, size, root = parse_checkpoint(cp_text)
        if (cp_origin, size, root) != (origin, tree_size, log_root):
            raise Refused("the log size, root or origin differ from the signed checkpoint")
        report.ok.append(f"checkpoint: {origin} at {size} leaves, signature verified")
        if witnesses or quorum:
            seen = check_witnesses(checkpoint, cp_text, witnesses, quorum)
            report.ok.append(f"checkpoint: cosigned by {len(seen)} of {len(witnesses)} witnesses named")
    except Refused as e:
        report.fail("manifest.json", f"its checkpoint: {e}")
        return report

    # Consistency, from the package's proof and the checkpoint held.
    c = m.get("consistency")
    if c is not None:
        try:
            verify_consistency(want(c, "from_size", "integer", "consistency"), size,
                               [b64_hash(h) for h in want(c, "proof", "array", "consistency")],
                               b64_hash(want(c, "from_root", "string", "consistency")), root)
            report.ok.append(f"consistency: the log at {size} leaves extends the log at {c['from_size']}")
        except Refused as e:
            report.fail("manifest.json", f"its consistency proof: {e}")
    if since is not None:
        try:
            _, held_size, held_root = parse_checkpoint(open_note(since, log_key))
            if held_size == size:
                if held_root != root:
                    raise Refused("your checkpoint has the package's size and another root: the log forked")
            elif held_size > size:
                raise Refused(f"your checkpoint ({held_size} leaves) is newer than the package's ({size})")
            elif c is None:
                raise Refused(f"the package carries no consistency proof from your checkpoint ({held_size} leaves)")
            elif c.get("from_size") != held_size or c.get("from_root") != base64.b64encode(held_root).decode():
                raise Refused(f"the package proves growth from {c.get('from_size')} leaves, not from yours")
            report.ok.append("consistency: from the checkpoint you hold")
        except Refused as e:
            report.fail("--since", e)

    described = ["MANIFEST.txt", "manifest.json", "manifest.sig"]

    def rule(item, label):
        canon = item.get("canon")
        if fmt == FORMAT_3:
            if canon not in ("jcs", "compact"):
                raise Refused(f"{FORMAT_3} names each record's rule (`canon`: jcs or compact), not {canon!r}")
            return canon
        if "canon" in item:
            raise Refused(f"`canon` is a member of {FORMAT_3} manifests, not of {fmt}")
        return "compact"

    def salt_of(item, label):
        return lower_hex(want(item, "salt", "string", label), 16)

    def record_item(kind, item, label):
        try:
            check_record(kind, item.get("record"))
            canon = rule(item, label)
            entry = record_entry(kind, item["record"], canon, salt_of(item, label))
        except Refused as e:
            report.fail(label, e)
            return
        check_leaf(report, label, entry, item, size, root)

    # The incident's opening.
    opened = m.get("opened")
    cited = None
    if opened is not None:
        rec = opened.get("record") if isinstance(opened.get("record"), dict) else {}
        label = f"incident {incident} (audit record #{rec.get('n')})"
        record_item("audit", opened, label)
        detail = rec.get("detail")
        if rec.get("action") != "incident_opened" or not isinstance(detail, dict) or detail.get("id") != incident:
            report.fail(label, f"is not the opening of incident {incident}")
        else:
            cited = set()
            for e in detail.get("events") or []:
                if isinstance(e, dict) and isinstance(e.get("source"), str) and isinstance(e.get("id"), str):
                    cited.add((e["source"], e["id"]))
    elif fmt == FORMAT_1:
        report.ok.append(f"{FORMAT_1}: no opening record to check")
    else:
        report.fail("manifest.json", f"a {fmt} package must carry the incident's opening record")

    # Events.
    for i, e in enumerate(m["events"]):
        label = f"event #{i}"
        try:
            part = want(e, "file", "string", label)
            label = part
            described.append(part)
            if part not in files:
                raise Refused("missing")
            body = files[part]
            digest = sha256(body)
            if lower_hex(want(e, "sha256", "string", label), 32) != digest:
                raise Refused("its content does not match the SHA-256 recorded for the event")
            received = e.get("received_us")
            if not is_int(received):
                raise Refused("received_us is not an integer")
            entry = event_entry(want(e, "seq", "integer", label), received,
                                sha256(salt_of(e, label) + digest), e.get("epcis"))
        except (Refused, struct.error) as err:
            report.fail(label, err)
            continue
        check_leaf(report, label, entry, e, size, root)
        if cited is not None:
            try:
                ev = json.loads(body)
                key = (ev["source"], ev["id"])
                if key not in cited:
                    report.notes.append(f"{part} ({key[0]}/{key[1]}) is not cited by the incident's opening record")
            except (ValueError, KeyError, TypeError):
                report.notes.append(f"{part} names no source and id: the incident cannot cite it")

    # Evidence and custody.
    chains = {}
    for c_item in m["custody"]:
        r = c_item.get("record") if isinstance(c_item, dict) else None
        ev = r.get("evidence") if isinstance(r, dict) else None
        label = f"custody {ev}#{r.get('n') if isinstance(r, dict) else None}"
        record_item("custody", c_item, label)
        if isinstance(r, dict):
            chains.setdefault(ev, []).append(r)
    ids = set()
    for item in m["evidence"]:
        r = item.get("record") if isinstance(item, dict) else None
        label = f"evidence {r.get('id') if isinstance(r, dict) else None}"
        record_item("evidence", item, label)
        if not isinstance(r, dict) or "id" not in r:
            continue
        ids.add(r["id"])
        if r.get("incident") != incident:
            report.fail(label, f"belongs to incident {r.get('incident')}, not {incident}")
        f = item.get("file")
        if f is not None:
            if not isinstance(f, str):
                report.fail(label, "`file` is neither a part's name nor null")
                continue
            described.append(f)
            if f not in files:
                report.fail(f, "missing")
            elif sha256(files[f]).hex() != r.get("sha256") or len(files[f]) != r.get("size"):
                report.fail(f, "its content does not match the SHA-256 and size recorded at collection")
            else:
                report.ok.append(f"{f}: {len(files[f])} bytes, SHA-256 matches")
        try:
            expired = check_chain(chains.get(r["id"], []))
            if expired != (f is None):
                raise Refused("its file's presence contradicts its custody chain (expired or not)")
        except (Refused, KeyError, TypeError) as e:
            report.fail(label, f"its custody chain: {e}")
    for ev in chains:
        if ev not in ids:
            report.fail(f"custody {ev}", "names evidence the package does not describe")
    for n in names:
        if n not in described:
            report.fail(n, "is not described by manifest.json")
    if not report.failures and names != described:
        report.fail("archive", "its parts are not in the canonical order")
    return report


def verify_tlog_proof(data, log_key, witnesses=(), quorum=0):
    """c2sp.org/tlog-proof@v1 with the entry on its `extra` line."""
    report = Report()
    try:
        lines = data.split(b"\n")
        if lines[0] != b"c2sp.org/tlog-proof@v1":
            raise Refused("the first line must be c2sp.org/tlog-proof@v1")
        at = 1
        if not lines[at].startswith(b"extra "):
            raise Refused("the proof carries no entry (no `extra` line)")
        entry = b64(lines[at][6:].decode("ascii", "replace"))
        at += 1
        m = re.fullmatch(rb"index (0|[1-9][0-9]*)", lines[at])
        if not m:
            raise Refused("expected `index N`, a decimal without leading zeros")
        index = int(m.group(1))
        at += 1
        proof = []
        while at < len(lines) and lines[at] != b"":
            proof.append(b64_hash(lines[at].decode("ascii", "replace")))
            at += 1
        note = b"\n".join(lines[at + 1:])
        if not note:
            raise Refused("the checkpoint is missing")
        text = open_note(note, log_key)
        origin, size, root = parse_checkpoint(text)
        report.ok.append(f"checkpoint of {origin} at size {size}, signed by the key given")
        if witnesses or quorum:
            seen = check_witnesses(note, text, witnesses, quorum)
            report.ok.append(f"cosigned by {len(seen)} of the {len(witnesses)} witnesses named")
        verify_inclusion(index, size, leaf_hash(entry), proof, root)
        report.ok.append(f"leaf {index} is in that tree")
        report.ok.append("entry " + describe_entry(entry))
    except (Refused, IndexError) as e:
        report.fail("tlog-proof", e or "truncated")
    return report


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["jcs"]:
        # `jcs FILE`: the RFC 8785 encoding of a JSON document (a record, to
        # recompute its commitment by hand), on standard output.
        if len(argv) != 2:
            print("usage: stockade_verify.py jcs FILE|-", file=sys.stderr)
            return 2
        try:
            raw = sys.stdin.buffer.read() if argv[1] == "-" else open(argv[1], "rb").read()
            value = load_manifest(raw)
            check_numbers(value)
            sys.stdout.buffer.write(jcs(value).encode())
        except (OSError, ValueError, Refused) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        return 0
    p = argparse.ArgumentParser(description="Verify a Stockade evidence package or tlog-proof, offline.")
    p.add_argument("what", choices=["package", "tlog-proof"])
    p.add_argument("file")
    p.add_argument("--key", required=True, help="the log's verifier key")
    p.add_argument("--witness", action="append", default=[], help="a witness's verifier key (repeatable)")
    p.add_argument("--quorum", type=int, default=None, help="how many named witnesses must have cosigned")
    p.add_argument("--since", help="a signed checkpoint of the log you already hold")
    a = p.parse_args(argv)
    try:
        key = VerifierKey(a.key, 0x01)
        witnesses = [VerifierKey(w, 0x04) for w in a.witness]
    except Refused as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    quorum = a.quorum if a.quorum is not None else len(witnesses)
    if quorum > len(witnesses) or quorum < 0:
        print(f"error: a quorum of {quorum} needs that many --witness keys", file=sys.stderr)
        return 2
    try:
        with open(a.file, "rb") as f:
            data = f.read()
        since = None
        if a.since:
            with open(a.since, "rb") as f:
                since = f.read()
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.what == "package":
        r = verify_package(data, key, witnesses, quorum, since)
    else:
        r = verify_tlog_proof(data, key, witnesses, quorum)
    for line in r.ok:
        print(f"ok    {line}")
    for part, why in r.failures:
        print(f"FAIL  {part}: {why}")
    for n in r.notes:
        print(f"note  {n}")
    print("NOT VERIFIED" if r.failures else "VERIFIED")
    return 1 if r.failures else 0


if __name__ == "__main__":
    sys.exit(main())
