"""The end-to-end peer: a Python feedparser + trafilatura pipeline doing wirewatch's fetch
side of one cycle with the same concurrency (threads): fetch every feed, parse it, fetch
every entry's page, extract its text with trafilatura. Nothing is stored, deduplicated or
judged, so it does less work than `wirewatch once`.

usage: e2e_peer.py BASE_URL FEEDS CONCURRENCY   (prints one key=value summary line)
"""
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import feedparser
import trafilatura
import urllib3


def main():
    base, feeds, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    http = urllib3.PoolManager(maxsize=conc, retries=False, timeout=20.0)
    stats = {"feeds_ok": 0, "entries": 0, "pages": 0, "chars": 0, "errors": 0}

    def fetch(url):
        r = http.request("GET", url, headers={"User-Agent": "peer/1"})
        if r.status != 200:
            raise RuntimeError(f"{url}: HTTP {r.status}")
        return r.data

    def page(link):
        try:
            text = trafilatura.extract(fetch(link), url=link) or ""
            return len(text)
        except Exception:
            return -1

    def feed(i):
        try:
            parsed = feedparser.parse(fetch(f"{base}/feed/{i}.xml"))
        except Exception:
            return None
        return [e.get("link") for e in parsed.entries if e.get("link")]

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=conc) as pool:
        links = []
        for got in pool.map(feed, range(feeds)):
            if got is None:
                stats["errors"] += 1
                continue
            stats["feeds_ok"] += 1
            stats["entries"] += len(got)
            links.extend(got)
        for n in pool.map(page, links):
            if n < 0:
                stats["errors"] += 1
            else:
                stats["pages"] += 1
                stats["chars"] += n
    el = time.perf_counter() - start
    print(" ".join(f"{k}={v}" for k, v in stats.items()) + f" secs={el:.2f}")


if __name__ == "__main__":
    main()
