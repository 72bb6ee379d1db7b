"""The container HEALTHCHECK: exit 0 when /health answers 200 on this container's port."""

from __future__ import annotations

import os
import sys
import urllib.request


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '5000')}/health"
    try:
        # urlopen raises for any status >= 400.
        with urllib.request.urlopen(url, timeout=3):
            return 0
    except OSError as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
