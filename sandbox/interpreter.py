"""How the sandbox starts Python: which interpreter, and a lean site setup.

The sandbox starts Python with `-S` and sets up site-packages itself, leaving out the
`.pth` hooks of editable installs (`__editable__*`) and setuptools' distutils shim. Those
hooks point at host source trees the sandbox cannot see, and importing them (pathlib, re,
importlib.util, urllib) costs about 10 ms of every cold start. Every other `.pth` file is
processed as `site` would, so packages that rely on them still import.
"""

from __future__ import annotations

import site
import sys

from hanlin.sandbox.config import SandboxMode
from hanlin.sandbox.fallback import fallback_python

_SITE_BOOTSTRAP = """\
import os as _os, site as _site, sys as _sys
_site.setquit(); _site.setcopyright(); _site.sethelper()
_known = set(_sys.path)
_prefix = {prefix!r}
if _prefix:  # a venv: -S skips the pyvenv.cfg step that would set these
    _sys.prefix = _sys.exec_prefix = _prefix
for _dir in {site_dirs!r} or _site.getsitepackages():
    if _os.path.isdir(_dir) and _dir not in _known:
        _sys.path.append(_dir)
        _known.add(_dir)
        for _name in sorted(_os.listdir(_dir)):
            if _name.endswith('.pth') and not _name.startswith(
                ('__editable__', 'distutils-precedence')
            ):
                _site.addpackage(_dir, _name, _known)
del _os, _site, _sys, _known, _prefix
"""

# Runs the program in a fresh namespace; on an error, prints the traceback from the
# program's own frames on (as `python -` would) and exits 1.
RUN_STDIN = """\
import sys as _sys
try:
    exec(compile(_sys.stdin.read(), '<stdin>', 'exec'), {'__name__': '__main__'})
except SystemExit:
    raise
except BaseException as _error:
    import traceback as _traceback
    _traceback.print_exception(type(_error), _error, _error.__traceback__.tb_next)
    _sys.exit(1)
"""


def python_executable(mode: SandboxMode) -> str:
    """The interpreter to start in `mode` (bwrap binds the running one in)."""
    return fallback_python() if mode is SandboxMode.LANDLOCK else sys.executable


def site_bootstrap(mode: SandboxMode) -> str:
    """Site setup for the interpreter of `mode`: the running one gets this process's
    site-packages (bwrap binds them at the same paths); another asks its own `site`."""
    if python_executable(mode) == sys.executable:
        return _SITE_BOOTSTRAP.format(prefix=sys.prefix, site_dirs=site.getsitepackages())
    return _SITE_BOOTSTRAP.format(prefix="", site_dirs=[])


def python_command(mode: SandboxMode, source: str) -> list[str]:
    """argv running `source` after the lean site setup, isolated from PYTHON* variables."""
    return [python_executable(mode), "-I", "-S", "-c", site_bootstrap(mode) + source]


def stdin_program(mode: SandboxMode) -> list[str]:
    """argv running a program read from stdin (so it has no size limit and no argv exposure)."""
    return python_command(mode, RUN_STDIN)
