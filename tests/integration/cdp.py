"""Open a page in headless Chromium over the DevTools protocol on a pipe
(--remote-debugging-pipe: JSON messages ending in NUL on fds 3 and 4), in a
network namespace of its own with no interface up, so nothing can be
fetched. Returns what a user would see: the screenshot, the DOM's answers,
console errors, exceptions, and every request the page tried that was not
its own file.

Also run as a program: cdp.py PAGE.html OUT.png [WIDTH] writes the
screenshot (make docs-screenshot)."""
import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class Browser:
    def __init__(self, timeout=60):
        self.tmp = tempfile.mkdtemp(prefix="rift-chromium-")
        r_cmd, w_cmd = os.pipe()    # we write commands, chromium reads fd 3
        r_evt, w_evt = os.pipe()    # chromium writes fd 4, we read
        args = ["unshare", "--net", "--", CHROMIUM, "--headless=new", "--no-sandbox",
                "--disable-gpu", "--remote-debugging-pipe", "--user-data-dir=" + self.tmp,
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--mute-audio", "--hide-scrollbars", "about:blank"]

        def fds():
            # through fds above 10, so that neither end lands on the other
            a = fcntl.fcntl(r_cmd, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(w_evt, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)
        self.err = open(os.path.join(self.tmp, "stderr"), "w+")
        self.proc = subprocess.Popen(args, preexec_fn=fds, stdout=subprocess.DEVNULL,
                                     stderr=self.err, close_fds=False)
        os.close(r_cmd)
        os.close(w_evt)
        self.out = w_cmd
        self.inp = r_evt
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.deadline = time.monotonic() + timeout
        self.session = None

    def _read_msg(self):
        while b"\0" not in self.buf:
            if time.monotonic() > self.deadline:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self.inp, 1 << 20)
            if not chunk:
                self.err.seek(0)
                err = self.err.read()[-2000:]
                raise RuntimeError("chromium exited: " + err)
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=True):
        self.next_id += 1
        m = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            m["sessionId"] = self.session
        os.write(self.out, json.dumps(m).encode() + b"\0")
        while True:
            msg = self._read_msg()
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method):
        for e in self.events:
            if e.get("method") == method:
                return e
        while True:
            msg = self._read_msg()
            self.events.append(msg)
            if msg.get("method") == method:
                return msg

    def close(self):
        try:
            self.call("Browser.close", session=False)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.out)
        os.close(self.inp)
        self.err.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def png_pixels(data):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h = int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big")
            depth, ctype = body[8], body[9]
            assert depth == 8 and ctype in (2, 6), "PNG type %d/%d" % (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, rows, prev = zlib.decompress(idat), [], bytearray(w * bpp)
    stride = w * bpp
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def open_page(path, width=1450, queries=()):
    """Load path, answer each JS expression in queries, take a full-page
    screenshot. Returns a dict with png, values, errors, requests."""
    b = Browser()
    try:
        target = b.call("Target.createTarget", {"url": "about:blank"}, session=False)
        b.session = b.call("Target.attachToTarget", {"targetId": target["targetId"],
                                                     "flatten": True}, session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            b.call(domain + ".enable")
        b.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": 800,
                                                      "deviceScaleFactor": 1, "mobile": False})
        url = "file://" + os.path.abspath(path)
        b.call("Page.navigate", {"url": url})
        b.wait_event("Page.loadEventFired")
        values = [b.call("Runtime.evaluate", {"expression": q, "returnByValue": True})
                  ["result"].get("value") for q in queries]
        height = b.call("Runtime.evaluate", {"expression": "document.documentElement.scrollHeight",
                                             "returnByValue": True})["result"]["value"]
        b.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": int(height),
                                                      "deviceScaleFactor": 1, "mobile": False})
        png = base64.b64decode(b.call("Page.captureScreenshot", {"format": "png"})["data"])
        errors, requests = [], []
        for e in b.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append("console: %s" % p.get("args"))
            elif m == "Runtime.exceptionThrown":
                errors.append("exception: %s" % p.get("exceptionDetails", {}).get("text"))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                errors.append("log: %s" % p["entry"].get("text"))
            elif m == "Network.requestWillBeSent":
                u = p.get("request", {}).get("url", "")
                if u != url and not u.startswith("data:"):
                    requests.append(u)
        return {"png": png, "values": values, "errors": errors, "requests": requests,
                "height": height}
    finally:
        b.close()


if __name__ == "__main__":
    res = open_page(sys.argv[1], int(sys.argv[3]) if len(sys.argv) > 3 else 1450)
    with open(sys.argv[2], "wb") as f:
        f.write(res["png"])
    print("%s: %d bytes, page height %d, errors %s, requests %s" %
          (sys.argv[2], len(res["png"]), res["height"], res["errors"], res["requests"]))
