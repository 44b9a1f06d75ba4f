"""The steady-state peer: a Python poller (feedparser + trafilatura, threads) that polls FEEDS
feeds every INTERVAL seconds with conditional GETs (If-None-Match from the last ETag), parses
changed feeds and extracts the pages of entries it has not seen. It runs until killed; the
bench samples its CPU and RSS from /proc the same way as the daemon's.

usage: steady_peer.py BASE_URL FEEDS CONCURRENCY INTERVAL_SECONDS
"""
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import feedparser
import trafilatura
import urllib3


def main():
    base, feeds, conc, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    http = urllib3.PoolManager(maxsize=conc, retries=False, timeout=20.0)
    etags = {}
    seen = set()

    def poll(i):
        url = f"{base}/feed/{i}.xml"
        headers = {"User-Agent": "peer/1"}
        if url in etags:
            headers["If-None-Match"] = etags[url]
        try:
            r = http.request("GET", url, headers=headers)
        except Exception:
            return []
        if r.status != 200:
            return []
        if r.headers.get("ETag"):
            etags[url] = r.headers["ETag"]
        return [e.get("link") for e in feedparser.parse(r.data).entries if e.get("link")]

    def page(link):
        try:
            trafilatura.extract(http.request("GET", link).data, url=link)
        except Exception:
            pass

    with ThreadPoolExecutor(max_workers=conc) as pool:
        while True:
            start = time.monotonic()
            new = [l for got in pool.map(poll, range(feeds)) for l in got if l not in seen]
            seen.update(new)
            list(pool.map(page, new))
            print(f"cycle new={len(new)} secs={time.monotonic() - start:.2f}", flush=True)
            time.sleep(max(0.0, interval - (time.monotonic() - start)))


if __name__ == "__main__":
    main()
