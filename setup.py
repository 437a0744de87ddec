"""Build hook for the one compiled module: match.domain._native (the Match's inner loops).

Everything else about the project is declared in pyproject.toml. The module is
optional at run time (the pure-Python engine is the reference and the fallback),
but the build here is not: `make install` builds it and a unit test fails if it is
missing, so CI notices a broken build. `scripts/package.py` compiles the same
source for the Lambda runtime (python3.13).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "match.domain._native",
            sources=["services/match/match/domain/_native.c"],
            extra_compile_args=["-O2", "-Wall", "-Werror=implicit-function-declaration"],
        )
    ]
)
