"""Writes a MaxMind-format country database for the geo tests.

usage: make-mmdb.py OUT.mmdb NETWORK=COUNTRY/CONTINENT ...
An IPv6 database with IPv4 networks mapped into ::/96, as MaxMind's own country
databases are (mmdb-writer, from PyPI).
"""
import sys

from mmdb_writer import MMDBWriter
from netaddr import IPSet

out, entries = sys.argv[1], sys.argv[2:]
writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-Country")
for entry in entries:
    network, place = entry.split("=")
    country, continent = place.split("/")
    writer.insert_network(
        IPSet([network]),
        {"country": {"iso_code": country}, "continent": {"code": continent}},
    )
writer.to_db_file(out)
