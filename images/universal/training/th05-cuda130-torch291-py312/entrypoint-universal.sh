#!/bin/sh
# Entry point of the universal training images.
#
#   no command  -> workbench mode: start the JupyterLab notebook server
#   a command   -> runtime mode: replace this shell with it, e.g.
#                  podman run IMAGE torchrun --nproc_per_node=2 train.py
set -eu

if [ "$#" -eq 0 ]; then
    # The workbench base image provides start-notebook.sh; NOTEBOOK_START
    # lets a platform (or a test) point at another launcher.
    exec "${NOTEBOOK_START:-start-notebook.sh}"
fi

exec "$@"
