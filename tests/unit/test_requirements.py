"""requirements.yml is the contract for users with Galaxy: it must name every collection the project uses, at the
versions the pinned `ansible` package ships (which is what runs here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import ansible_collections
import yaml
from iac_testlib.project import ROOT

SOURCES = [
    ROOT / "site.yml",
    *ROOT.glob("playbooks/**/*.yml"),
    *ROOT.glob("roles/**/*.yml"),
    *ROOT.glob("roles/**/*.j2"),
    *ROOT.glob("molecule/**/*.yml"),
]
# A fully qualified module, filter or test name: namespace.collection.name (the project's own iac.core aside).
FQCN = re.compile(r"\b([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\b")
KNOWN_NAMESPACES = {"ansible", "community", "kubernetes"}
# Words of that shape that are not collections: the API server's DNS name kubernetes.default.svc.
NOT_COLLECTIONS = {"ansible.builtin", "kubernetes.default"}


def listed() -> dict[str, str]:
    document = yaml.safe_load((ROOT / "requirements.yml").read_text())
    return {entry["name"]: str(entry["version"]) for entry in document["collections"]}


def shipped(name: str) -> str:
    namespace, collection = name.split(".")
    manifests = [Path(path) / namespace / collection / "MANIFEST.json" for path in ansible_collections.__path__]
    manifest = next(path for path in manifests if path.exists())
    return json.loads(manifest.read_text())["collection_info"]["version"]


def used() -> set[str]:
    found = set()
    for path in SOURCES:
        for namespace, collection in FQCN.findall(path.read_text()):
            if namespace in KNOWN_NAMESPACES and f"{namespace}.{collection}" not in NOT_COLLECTIONS:
                found.add(f"{namespace}.{collection}")
    return found


def test_every_collection_used_is_listed():
    assert used() - set(listed()) == set()


def test_each_listed_collection_is_used():
    assert set(listed()) - used() == set()


def test_listed_versions_are_those_the_pinned_ansible_package_ships():
    assert {name: shipped(name) for name in listed()} == listed()
