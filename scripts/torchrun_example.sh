#!/usr/bin/env bash
# kanpde data-parallel under torchrun: every process is one rank of a torch.distributed
# group (gloo on CPU); each holds 1/N of the collocation points, gradients (and the LM
# stages' J^T J, J^T r) are all-reduced, and rank 0 alone writes OUT/ (summary.json, model.pt,
# solution.vtu, figures).
#
# One machine, NPROC processes (default 2), a tiny schedule (Adam, then LM on grids 5, 10):
#   scripts/torchrun_example.sh [OUT]
#
# A cluster: run the same command on every node, pointing at one rendezvous host:
#   torchrun --nnodes 4 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29400 \
#       -m kanpde solve poisson10d --widths 10,4,1 --hard --points 400000 --out results/p10
# (Slurm: the same line inside `srun`; Kubernetes: the PyTorchJob operator sets the same
# environment.) Inside Python, `kp.TrainConfig(distributed=True)` does what `kanpde solve` does.
set -euo pipefail
OUT=${1:-results/torchrun_poisson2d}
NPROC=${NPROC:-2}
PYTHON=${PYTHON:-python}
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} "$PYTHON" -m torch.distributed.run --standalone --nproc-per-node "$NPROC" \
    -m kanpde solve poisson2d --adam-steps 20 --lm-steps 5 --grid-schedule 5,10 --points 400 --config default --quiet --out "$OUT"
