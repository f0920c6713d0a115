"""The role's interface is stated once: argument_specs, defaults and README agree."""
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "wsgi_deploy")


def _load(*parts):
    with open(os.path.join(ROLE, *parts)) as handle:
        return yaml.safe_load(handle)


def test_every_default_is_specified_with_the_same_value_and_every_option_has_a_default():
    specs = _load("meta", "argument_specs.yml")["argument_specs"]
    defaults = _load("defaults", "main.yml")
    assert sorted(specs["main"]["options"]) == sorted(defaults)
    for entry, spec in specs.items():
        for name, option in spec["options"].items():
            if option.get("required"):
                assert defaults[name] == "", (entry, name)
            else:
                assert option["default"] == defaults[name], (entry, name)


def test_every_public_variable_is_prefixed_and_internal_ones_are_marked():
    assert all(name.startswith("wsgi_deploy_") for name in _load("defaults", "main.yml"))
    assert all(name.startswith("_wsgi_deploy_") for name in _load("vars", "main.yml"))


def test_readme_variables_section_is_generated_from_the_specs():
    check = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen-readme-vars.py"),
                            "--check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout



def test_every_modules_documentation_is_yaml_with_every_option_described():
    # ansible-doc and validate-modules say the same, in minutes; a plain scalar with ": " in it
    # is the usual break.
    import ast
    folder = os.path.join(ROOT, "plugins", "modules")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(folder, name)) as handle:
            tree = ast.parse(handle.read())
        docs = {node.targets[0].id: yaml.safe_load(node.value.value) for node in tree.body
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in
                ("DOCUMENTATION", "EXAMPLES", "RETURN")}
        assert sorted(docs) == ["DOCUMENTATION", "EXAMPLES", "RETURN"], name
        assert all(option.get("description") for option in docs["DOCUMENTATION"].get("options", {}).values()), name
