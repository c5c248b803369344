#!/usr/bin/env python3
# An independent verifier of the event log's Merkle tree proofs, checkpoints and
# witness cosignatures: it relies on eventstore/FORMAT.md (sections "The Merkle
# tree", "Proofs", "Checkpoints", "Witness cosignatures") and RFC 9162
# 2.1.3.2 / 2.1.4.2 only, and shares no code with the server. Used by the tests;
# an auditor's own verifier can start from it.
#
# Usage: python3 tlog_verify.py CASES.json
# Exit 0: every genuine item verified and every tampered one was rejected;
# 1: a failure (each named on its own line); 2: the input could not be parsed.
import base64, hashlib, json, re, struct, sys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


SHA256 = hashlib.sha256  # the proof loops call it directly: they are the hot path
def sha(b): return SHA256(b).digest()
def leaf_hash(d): return sha(b"\x00" + d)
def node_hash(l, r): return sha(b"\x01" + l + r)


def prefix_roots(lhashes):
    """roots[n] = MTH(D[n]) for every n, kept as a stack of perfect subtrees."""
    roots, stack = [sha(b"")], []  # stack of (height, hash), heights decreasing
    for h in lhashes:
        height = 0
        while stack and stack[-1][0] == height:
            h, height = node_hash(stack.pop()[1], h), height + 1
        stack.append((height, h))
        r = h
        for _, s in reversed(stack[:-1]):
            r = node_hash(s, r)
        roots.append(r)
    return roots


def verify_inclusion(index, size, lh, path, root):  # RFC 9162 2.1.3.2
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, lh
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = SHA256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = SHA256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(m, n, path, first, second):  # RFC 9162 2.1.4.2
    if not 0 <= m <= n:
        return False
    if m == 0:
        return not path
    if m == n:
        return not path and first == second
    if not path:
        return False
    if m & (m - 1) == 0:
        path = [first] + path
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = SHA256(b"\x01" + c + fr).digest(), SHA256(b"\x01" + c + sr).digest()
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = SHA256(b"\x01" + sr + c).digest()
        fn, sn = fn >> 1, sn >> 1
    return fr == first and sr == second and sn == 0


def b64dec(s):
    """Strict standard padded base64: raises ValueError unless canonical."""
    raw = base64.b64decode(s, validate=True)
    if base64.b64encode(raw).decode() != s:
        raise ValueError("non-canonical base64")
    return raw


def key_id(name, typ, pub): return sha(name.encode() + b"\n" + bytes([typ]) + pub)[:4]


class Key:
    def __init__(self, name, typ, pub):
        self.name, self.typ, self.pub = name, typ, pub
        self.kid = key_id(name, typ, pub)
        self.obj = Ed25519PublicKey.from_public_bytes(pub)

    def text(self):
        return "%s+%s+%s" % (self.name, self.kid.hex(),
                             base64.b64encode(bytes([self.typ]) + self.pub).decode())

    def verify(self, sig, msg):
        try:
            self.obj.verify(sig, msg)
            return True
        except InvalidSignature:
            return False


def parse_key(text, typ):
    name, kid, b64 = text.split("+", 2)
    raw = b64dec(b64)
    if not re.fullmatch(r"[^\s+]+", name) or len(raw) != 33 or raw[0] != typ:
        raise ValueError("bad verifier key %r" % text)
    key = Key(name, typ, raw[1:])
    if key.kid.hex() != kid:
        raise ValueError("key id of %r does not match its key" % text)
    return key


def pub_of(priv): return priv.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def parse_note(note):
    """-> (text, [(name, sig bytes)]) or None; text ends at the last blank line."""
    i = note.rfind("\n\n")
    if i < 0 or not note.endswith("\n"):
        return None
    text, sigs = note[:i + 1], []
    for line in note[i + 2:-1].split("\n"):
        m = re.fullmatch("\u2014 ([^\\s+]+) ([A-Za-z0-9+/=]+)", line)
        if not m:
            return None
        try:
            sigs.append((m.group(1), b64dec(m.group(2))))
        except ValueError:
            return None
    return text, sigs


def cosig_msg(ts, text): return ("cosignature/v1\ntime %d\n" % ts + text).encode()


def check_checkpoint(note, log_key, witness_keys, roots):
    """-> (None, cosignatures verified) if the note is good, else (reason, 0)."""
    parsed = parse_note(note)
    if parsed is None:
        return "unparsable note", 0
    text, sigs = parsed
    mine = [s for n, s in sigs if n == log_key.name and s[:4] == log_key.kid]
    if not mine:
        return "no signature line of the log key", 0
    for s in mine:
        if len(s) != 68 or not log_key.verify(s[4:], text.encode()):
            return "log signature does not verify", 0
    lines = text.split("\n")
    if len(lines) != 4 or not lines[0] or not re.fullmatch(r"0|[1-9][0-9]*", lines[1]):
        return "bad checkpoint text", 0
    try:
        root = b64dec(lines[2])
    except ValueError:
        return "bad root line", 0
    size = int(lines[1])
    if len(root) != 32 or size >= len(roots) or roots[size] != root:
        return "root is not MTH(D[%d])" % size, 0
    cosigs = 0
    for w in witness_keys:
        for n, s in sigs:
            if n == w.name and s[:4] == w.kid:
                if len(s) != 76:
                    return "bad cosignature length of " + w.name, 0
                ts, = struct.unpack(">Q", s[4:12])
                if not w.verify(s[12:], cosig_msg(ts, text)):
                    return "cosignature of %s does not verify" % w.name, 0
                cosigs += 1
    return None, cosigs


def sig_line(name, blob): return "\u2014 %s %s\n" % (name, base64.b64encode(blob).decode())
def sign_note(text, key, priv): return text + "\n" + sig_line(key.name, key.kid + priv.sign(text.encode()))


def flip(h, bit=0):
    b = bytearray(h)
    b[(bit // 8) % len(b)] ^= 1 << (bit % 8)
    return bytes(b)


def picks(k): return range(k) if k <= 3 else sorted({0, k // 2, k - 1})


def self_test():
    """The worked examples of FORMAT.md, copied from it."""
    H = bytes.fromhex
    L = [H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
         H("b413f47d13ee2fe6c845b2ee141af81de858df4ec549a58b7970bb96645bc8d2"),
         H("fcf0a6c700dd13e274b6fba8deea8dd9b26e4eedde3495717cac8408c9c5177f")]
    M2 = H("a20bf9a7cc2dc8a08f5f415a71b19f6ac427bab54d24eec868b5d3103449953a")
    M3 = H("3b6cccd7e3e023ff393006f030315ee7ad9eb111b022b41fba7e5b7a3973f688")
    EMPTY = H("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    LOG_PUB = H("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8")
    LOG_VKEY = "ncm.example/log+456ee8f6+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
    NOTE = ("ncm.example/log\n3\nO2zM1+PgI/85MAbwMDFe562esRGwIrQfun5bejlz9og=\n\n"
            "\u2014 ncm.example/log RW7o9hVNZVjARaVRt6DHpt6Z4Vczx8rqogOVkE6OENaUcVj9"
            "Pn0HrKlJ9uolQ53T/ujq0UEJ19Nn4l9/f1hmU8g9XwU=\n")
    W_VKEY = "witness.example/w1+20324abe+BCmsuuFBvMrwsi4alNNNC8c2HlJtC/4SyJeUvJMilm3X"
    W_TIME = 1767225600
    W_LINE = ("\u2014 witness.example/w1 IDJKvgAAAABpVbkAacs4+huTe/EUmoqNtPiUbYM824jX"
              "DFn7eXZLPf4U/uprWEM1Cm5RKiDPmbG/94jdrMqFVHGdw4RlTGskD08WAw==\n")

    lh = [leaf_hash(bytes([i])) for i in range(3)]
    roots = prefix_roots(lh)
    checks = [("leaf hashes", lh == L), ("roots", roots == [EMPTY, L[0], M2, M3]),
              ("inclusion 0 in 3", verify_inclusion(0, 3, L[0], [L[1], L[2]], M3)),
              ("inclusion 2 in 3", verify_inclusion(2, 3, L[2], [M2], M3)),
              ("consistency 2 to 3", verify_consistency(2, 3, [L[2]], M2, M3)),
              ("consistency 1 to 3", verify_consistency(1, 3, [L[1], L[2]], L[0], M3))]
    priv = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    key = Key("ncm.example/log", 1, pub_of(priv))
    checks += [("log public key", key.pub == LOG_PUB), ("log key id", key.kid.hex() == "456ee8f6"),
               ("log verifier key", key.text() == LOG_VKEY),
               ("parse log verifier key", parse_key(LOG_VKEY, 1).pub == LOG_PUB)]
    text = "ncm.example/log\n3\n%s\n" % base64.b64encode(M3).decode()
    checks += [("example note", sign_note(text, key, priv) == NOTE),
               ("example note verifies", check_checkpoint(NOTE, key, [], roots) == (None, 0))]
    wpriv = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
    w = Key("witness.example/w1", 4, pub_of(wpriv))
    blob = w.kid + struct.pack(">Q", W_TIME) + wpriv.sign(cosig_msg(W_TIME, text))
    checks += [("witness verifier key", w.text() == W_VKEY and parse_key(W_VKEY, 4).pub == w.pub),
               ("witness cosignature line", sig_line(w.name, blob) == W_LINE),
               ("cosigned note verifies",
                check_checkpoint(NOTE + W_LINE, key, [w], roots) == (None, 1))]
    return [name for name, ok in checks if not ok]


def hexes(v, size=None):
    out = [bytes.fromhex(x) for x in v]
    if size is not None and any(len(h) != size for h in out):
        raise ValueError("hash of wrong length")
    return out


def count(v):
    if type(v) is not int or v < 0:
        raise ValueError("bad number %r" % (v,))
    return v


def main():
    failures, tampered, accepted, ok_incl, ok_cons = [], 0, 0, 0, 0
    def fail(msg):
        failures.append(msg)
    for name in self_test():
        fail("self-test: FORMAT.md example '%s' does not match" % name)
    try:
        with open(sys.argv[1], encoding="utf-8") as f:
            cases = json.load(f)
        log_key = parse_key(cases["log_key"], 1)
        witnesses = [parse_key(k, 4) for k in cases.get("witness_keys", [])]
        leaves = hexes(cases["leaves"])
        incl = [(count(c["index"]), count(c["size"]), hexes(c["hashes"], 32))
                for c in cases.get("inclusion", [])]
        cons = [(count(c["first"]), count(c["second"]), hexes(c["hashes"], 32))
                for c in cases.get("consistency", [])]
        notes = [c["note"] for c in cases.get("checkpoints", [])]
        if not all(isinstance(n, str) for n in notes):
            raise ValueError("note is not a string")
    except (AttributeError, IndexError, KeyError, TypeError, ValueError, OSError) as e:
        print("tlog_verify: cannot parse input: %s" % e)
        return 2
    lh = [leaf_hash(d) for d in leaves]
    roots = prefix_roots(lh)
    N = len(leaves)

    for i, n, path in incl:
        case = "inclusion index %d size %d" % (i, n)
        if n > N or i >= n or not verify_inclusion(i, n, lh[i], path, roots[n]):
            fail(case + ": does not verify")
            continue
        ok_incl += 1
        bad = [("bit flipped in hash %d" % j, i, path[:j] + [flip(path[j], j + i)] + path[j + 1:], roots[n])
               for j in picks(len(path))]
        if i + 1 < n:
            bad.append(("index+1", i + 1, path, roots[n]))
        if i >= 1:
            bad.append(("index-1", i - 1, path, roots[n]))
        if path:
            bad.append(("last hash dropped", i, path[:-1], roots[n]))
        bad += [("extra hash", i, path + [bytes(32)], roots[n]),
                ("root bit flipped", i, path, flip(roots[n], n))]
        for what, ti, tp, tr in bad:
            tampered += 1
            if verify_inclusion(ti, n, lh[ti], tp, tr):
                fail("%s: tampered (%s) accepted" % (case, what))
                accepted += 1

    for m, n, path in cons:
        case = "consistency first %d second %d" % (m, n)
        if n > N or not verify_consistency(m, n, path, roots[min(m, N)], roots[n]):
            fail(case + ": does not verify")
            continue
        ok_cons += 1
        a, b = roots[m], roots[n]
        bad = [("bit flipped in hash %d" % j, path[:j] + [flip(path[j], j + m)] + path[j + 1:], a, b)
               for j in picks(len(path))]
        if path:
            bad.append(("last hash dropped", path[:-1], a, b))
        bad.append(("extra hash", path + [bytes(32)], a, b))
        if m > 0:  # for m == 0 neither root enters the check
            bad += [("first root bit flipped", path, flip(a, m), b),
                    ("second root bit flipped", path, a, flip(b, n))]
        for what, tp, ta, tb in bad:
            tampered += 1
            if verify_consistency(m, n, tp, ta, tb):
                fail("%s: tampered (%s) accepted" % (case, what))
                accepted += 1

    n_cp = n_cosig = 0
    for k, note in enumerate(notes):
        why, cosigs = check_checkpoint(note, log_key, witnesses, roots)
        if why:
            fail("checkpoint %d: %s" % (k, why))
            continue
        n_cp, n_cosig = n_cp + 1, n_cosig + cosigs
        text, sigs = parse_note(note)
        block = note[len(text) + 1:]
        lines = text.split("\n")
        size, root_line = int(lines[1]), lines[2]
        other = "B" if root_line[0] != "B" else "C"
        def with_text(l1=lines[1], l2=root_line):
            return "%s\n%s\n%s\n" % (lines[0], l1, l2)
        fresh_priv = Ed25519PrivateKey.generate()
        fresh = Key(log_key.name, 1, pub_of(fresh_priv))
        resigned = sign_note(text, fresh, fresh_priv)
        if check_checkpoint(resigned, fresh, [], roots)[0]:
            fail("checkpoint %d: control (re-signed by a fresh key) does not verify" % k)
        bad = [("size line changed", with_text(l1=str(size + 1)) + "\n" + block, log_key),
               ("root line character changed", with_text(l2=other + root_line[1:]) + "\n" + block, log_key),
               ("verified with a fresh key of the same name", note, fresh),
               ("fresh key signs a wrong root", sign_note(with_text(l2=other + root_line[1:]), fresh, fresh_priv), fresh),
               ("fresh key signs a wrong size", sign_note(with_text(l1=str(size + 1)), fresh, fresh_priv), fresh)]
        keys = [(log_key, 4)] + [(w, 12) for w in witnesses]
        for key, off in keys:
            for name, s in sigs:
                if name == key.name and s[:4] == key.kid:
                    variants = [("signature bit flipped", flip(s, 8 * off + k % 512))]
                    if off == 12:  # a witness: the signed time changes too
                        ts = struct.unpack(">Q", s[4:12])[0] ^ 1
                        variants.append(("timestamp changed", s[:4] + struct.pack(">Q", ts) + s[12:]))
                    for what, blob in variants:
                        lines_out = "".join(sig_line(n2, blob if s2 is s else s2) for n2, s2 in sigs)
                        bad.append(("%s of %s" % (what, key.name), text + "\n" + lines_out, key))
        for what, tnote, key in bad:
            tampered += 1
            ws = [key] if key.typ == 4 else witnesses
            if check_checkpoint(tnote, log_key if key.typ == 4 else key, ws, roots)[0] is None:
                fail("checkpoint %d (size %d): tampered (%s) accepted" % (k, size, what))
                accepted += 1

    for msg in failures[:100]:
        print("tlog_verify: FAIL " + msg)
    if len(failures) > 100:
        print("tlog_verify: ... and %d more failures" % (len(failures) - 100))
    print("tlog_verify: %d inclusion, %d consistency, %d checkpoints (%d cosignatures) verified; "
          "%d tampered rejected; %d failures" % (ok_incl, ok_cons, n_cp, n_cosig, tampered - accepted, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
