"""report.html as a user sees it: the pong race's page opened in headless
Chromium (in a network namespace with nothing up, so nothing can be
fetched), screenshot taken; the page parses as XML, has a lane per node and
the findings, no console errors, no request but its own file, and the
screenshot is a drawn page. RIFT_SCREENSHOT=PATH keeps the screenshot
(make docs-screenshot writes docs/report-pong-race.png with it)."""
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import cdp
import lib
from lib import check

RIFT = os.path.join(lib.ROOT, "bin", "rift")
SCN = os.path.join(lib.ROOT, "harness", "scenarios")


def colour_counts(rows, bpp):
    """Pixels that are not near-white, and the red of finding bars (#d62728)."""
    drawn = red = total = 0
    for line in rows[::2]:
        for i in range(0, len(line), bpp * 2):
            r, g, b = line[i], line[i + 1], line[i + 2]
            total += 1
            if r < 235 or g < 235 or b < 235:
                drawn += 1
            if abs(r - 214) < 12 and abs(g - 39) < 12 and abs(b - 40) < 12:
                red += 1
    return drawn, red, total


def test_pong_race_report_page_in_chromium(ns):
    check(shutil.which("chromium") is not None, "chromium is missing: run `make deps`")
    report = os.path.join(ns.tmp, "race")
    r = subprocess.run([RIFT, "run", os.path.join(SCN, "failover-pong-race.ini"), "--report",
                        report], capture_output=True, text=True, timeout=180)
    check(r.returncode == 0, "exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr[-2000:]))
    page = os.path.join(report, "report.html")
    size = os.path.getsize(page)
    check(size < 5 * 1024 * 1024, "report.html is %d bytes" % size)
    ET.parse(page)  # strict: well-formed, everything escaped

    res = cdp.open_page(page, queries=[
        "document.querySelectorAll('svg g.lane').length",
        "document.querySelectorAll('svg rect.finding').length",
        "document.querySelectorAll('svg g.lane[data-node=\"m2\"] rect.finding"
        "[data-check=\"cycles\"]').length",
        "document.getElementById('verdict').textContent",
        "document.querySelectorAll('svg rect.fault-window').length",
        "document.querySelectorAll('details').length",
    ])
    lanes, findings, m2_cycles, verdict, windows, details = res["values"]
    check(res["errors"] == [], "console errors: %s" % res["errors"])
    check(res["requests"] == [], "the page fetched %s" % res["requests"])
    check(lanes == 6, "%s lanes, want 6" % lanes)
    check(m2_cycles >= 1 and findings >= 2, "findings %s, m2's cycles %s" % (findings, m2_cycles))
    check(verdict == "pass", "verdict %r" % verdict)
    check(windows >= 1 and details == findings, "%s fault windows, %s details" % (windows, details))

    w, h, bpp, rows = cdp.png_pixels(res["png"])
    drawn, red, total = colour_counts(rows, bpp)
    check(w == 1450 and h >= 600, "screenshot %dx%d" % (w, h))
    check(drawn > total // 20, "only %d of %d sampled pixels drawn: a blank page" % (drawn, total))
    check(red >= 20, "no finding bar in the screenshot (%d red pixels)" % red)
    keep = os.environ.get("RIFT_SCREENSHOT")
    if keep:
        with open(keep, "wb") as f:
            f.write(res["png"])
    print("  report.html %d bytes; %d lanes, %d findings (%d cycles on m2), %d fault windows; "
          "screenshot %dx%d, %.0f%% drawn, %d finding-red pixels sampled; no console error, "
          "nothing fetched" % (size, lanes, findings, m2_cycles, windows, w, h,
                               100.0 * drawn / total, red))
