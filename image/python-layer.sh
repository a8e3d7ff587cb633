#!/bin/sh
# The image's Python layer, step by step: the one definition of how the platform's packages are built
# and installed. image/Dockerfile runs each step in its stage (with the files bind-mounted), and the
# image rehearsal (tests/image) runs the same steps natively on CPython 3.12 in a fresh virtualenv.
# `pip` and `uv pip` act on the active environment: in the image that is the airflow user's virtualenv
# (VIRTUAL_ENV=/home/airflow/.local), in the rehearsal the rehearsal's virtualenv.
#
#   python-layer.sh source-wheels SOURCE_ONLY_TXT WHEEL_DIR
#       build wheels for the pins that PyPI ships only as source (needs a compiler and headers, so it
#       runs in a throwaway build stage, never in the runtime image)
#   python-layer.sh platform-wheel PROJECT_DIR WHEEL_DIR
#       build the platform's own wheel (the provider, its cluster policies, dag-check)
#   python-layer.sh install-requirements REQUIREMENTS_TXT WHEEL_DIR
#       install the exact pin set: --no-deps resolves nothing, --no-build compiles nothing
#   python-layer.sh install-platform WHEEL_DIR
#       install the platform wheel the same way, then check that every installed package's
#       dependencies are satisfied
set -eu

step="${1:-}"
case "$step" in
    source-wheels)
        pip wheel --no-cache-dir --no-deps --wheel-dir "$3" -r "$2"
        ;;
    platform-wheel)
        pip wheel --no-cache-dir --no-deps --wheel-dir "$3" "$2"
        ;;
    install-requirements)
        uv pip install --no-cache --no-deps --no-build --find-links "$3" -r "$2"
        ;;
    install-platform)
        uv pip install --no-cache --no-deps --no-build "$2"/airflow_platform-*.whl
        uv pip check
        ;;
    *)
        echo "usage: $0 source-wheels|platform-wheel|install-requirements|install-platform ARGS..." >&2
        exit 2
        ;;
esac
