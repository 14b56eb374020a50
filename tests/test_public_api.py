"""The top-level API (``gainmap.read``, ``check``, ``repair``, ...) stays callable whatever submodules are imported.

The old layout had submodules named ``gainmap.decode``, ``gainmap.repair``, ...: importing one replaced the
function of the same name with the module.  The check runs in a fresh interpreter, so that no earlier test has
already cached the functions.
"""

from __future__ import annotations

import json
import subprocess
import sys

API = ("read", "check", "repair", "decode", "build", "measure", "restore")

SCRIPT = """
import importlib, json, pkgutil, sys
import gainmap

skipped = []
for info in pkgutil.walk_packages(gainmap.__path__, "gainmap."):
    try:
        importlib.import_module(info.name)
    except ModuleNotFoundError as exc:  # an optional dependency (torch for training) that is not installed
        if exc.name and exc.name.split(".")[0] == "gainmap":
            raise
        skipped.append(info.name)
names = sys.argv[1:]
print(json.dumps({
    "imported": sorted(m for m in sys.modules if m.startswith("gainmap.")),
    "skipped": skipped,
    "api": {n: [type(getattr(gainmap, n)).__name__, callable(getattr(gainmap, n)),
                getattr(getattr(gainmap, n), "__module__", None)] for n in names},
}))
"""


def test_api_functions_stay_callable_after_importing_every_submodule():
    proc = subprocess.run([sys.executable, "-c", SCRIPT, *API], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert len(result["imported"]) > 50  # the walk really imported the package tree
    assert all(name.startswith("gainmap.predict.training.") for name in result["skipped"]), result["skipped"]
    for name in API:
        kind, is_callable, module = result["api"][name]
        assert kind == "function" and is_callable, (name, kind)
        assert module.startswith("gainmap.") and module.count(".") >= 2, (name, module)


def test_no_submodule_shadows_an_api_name():
    import pkgutil

    import gainmap

    top_level = {info.name for info in pkgutil.iter_modules(gainmap.__path__)}
    assert not top_level & set(gainmap.__all__)
