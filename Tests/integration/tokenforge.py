"""An independent implementation of the igt1 token format (Docs/tokens.md), used by tests to forge tokens
the CLI would refuse to mint: expired, future-dated, wrong protocol, reserved bits. It reads the data
directory's key file exactly as documented, so it also checks the documentation against the server."""
import base64
import hashlib
import hmac
import json
import os
import struct


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def hkdf(secret, info):
    prk = hmac.new(b"\0" * 32, secret, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


class Forge:
    def __init__(self, data_dir):
        keys_dir = os.path.join(data_dir, "keys")
        with open(os.path.join(keys_dir, "token-keys.json")) as f:
            doc = json.load(f)
        assert doc["format"] == "imagegate-token-keys-v1"
        self.keys = {k["kid"]: k for k in doc["keys"]}
        with open(os.path.join(keys_dir, "deployment-id")) as f:
            self.deployment = bytes.fromhex(f.read().strip())

    def active_kid(self):
        return next(k["kid"] for k in self.keys.values() if k["state"] == "active")

    @staticmethod
    def parse(token):
        """Returns the claims of a token as a dict (no verification)."""
        _, p, _ = token.split(".")
        raw = unb64u(p)
        ver, kid = raw[0], struct.unpack(">I", raw[1:5])[0]
        return {
            "ver": ver, "kid": kid, "tenant": raw[5:21], "image": raw[21:37],
            "gen": struct.unpack(">I", raw[37:41])[0], "serial": raw[41:57],
            "iat": struct.unpack(">q", raw[57:65])[0], "exp": struct.unpack(">q", raw[65:73])[0],
            "perms": struct.unpack(">H", raw[73:75])[0], "ipfam": raw[75], "ipaddr": raw[76:92], "ipplen": raw[92],
        }

    def mint(self, c, kid=None):
        kid = self.active_kid() if kid is None else kid
        payload = (bytes([c.get("ver", 1)]) + struct.pack(">I", kid) + c["tenant"] + c["image"]
                   + struct.pack(">I", c["gen"]) + c["serial"] + struct.pack(">q", c["iat"])
                   + struct.pack(">q", c["exp"]) + struct.pack(">H", c["perms"]) + bytes([c["ipfam"]])
                   + c["ipaddr"] + bytes([c["ipplen"]]))
        assert len(payload) == 93
        key = self.keys.get(kid)
        secret = bytes.fromhex(key["secret"]) if key else os.urandom(32)
        k = hkdf(secret, b"image-gateway download token v1")
        tag = hmac.new(k, b"igt1\0" + self.deployment + payload, hashlib.sha256).digest()
        return f"igt1.{b64u(payload)}.{b64u(tag)}"
