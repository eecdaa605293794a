#!/usr/bin/env python3
"""Writes a small MaxMind DB (GeoIP2-City layout) for the session-location tests (IDN-04).

Usage: python3 make_mmdb.py OUT.mmdb
Loopback (127.0.0.0/8 and ::1) is placed in "Testville, Testland"; 192.0.2.0/24 (TEST-NET-1)
in the country "Examplia" without a city; everything else is unknown.
"""

import sys

from mmdb_writer import MMDBWriter
from netaddr import IPSet


def main(out):
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City",
                        languages=["en"], description="Ideaweave test places")
    writer.insert_network(IPSet(["127.0.0.0/8", "::1/128"]), {
        "city": {"names": {"en": "Testville"}},
        "country": {"iso_code": "TL", "names": {"en": "Testland"}},
    })
    writer.insert_network(IPSet(["192.0.2.0/24"]), {
        "country": {"iso_code": "EX", "names": {"en": "Examplia"}},
    })
    writer.to_db_file(out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_mmdb.py OUT.mmdb")
    main(sys.argv[1])
