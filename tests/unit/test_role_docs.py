"""Each role's variables are documented once, in meta/argument_specs.yml: the README tables are generated from it
(tools/role_docs.py), its defaults must say what the role really defaults to, and every default must be in it."""

from __future__ import annotations

import pytest
import role_docs
import yaml
from iac_testlib.project import ROOT

ROLES = sorted(path.parents[1] for path in ROOT.glob("roles/*/meta/argument_specs.yml"))


def real_defaults(role):
    """What the role really takes: defaults/main.yml, or for the application contract group_vars/all/app.yml."""
    source = ROOT / "group_vars/all/app.yml" if role.name == "app" else role / "defaults/main.yml"
    return (yaml.safe_load(source.read_text()) or {}) if source.exists() else {}


def main_options(role):
    return role_docs.options(yaml.safe_load((role / "meta/argument_specs.yml").read_text())["argument_specs"])


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.name)
def test_spec_defaults_are_the_real_defaults(role):
    real = real_defaults(role)
    wrong = {
        name: (option["default"], real.get(name))
        for name, option in main_options(role).items()
        if "default" in option and name in real and option["default"] != real[name]
    }
    assert wrong == {}, "argument_specs default vs the real default"


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.name)
def test_every_default_is_documented(role):
    assert set(real_defaults(role)) - set(main_options(role)) == set()


def test_readme_tables_are_generated_from_the_specs(capsys):
    assert role_docs.main(check=True) == 0, capsys.readouterr().err
