"""Assemble docs/benchmarks.md from the sections each benchmark script writes.

Every script in this folder writes its own ``docs/benchmarks/<name>.md``
(numbers, peers and the machine they ran on, all from one process run);
this script only concatenates them, in a fixed order, under one heading.

Usage: ``python benchmarks/collect.py``
"""

from __future__ import annotations

from pathlib import Path

ORDER = [
    "exact",
    "junction_tree",
    "belief_propagation",
    "gibbs",
    "tempering",
    "mean_field",
    "rbm_epoch",
    "rbm_kernels",
    "rbm_digits",
    "rbm_mnist_loglik",
    "rbm_pt",
    "rbm_pt_mnist",
    "ais",
    "dbm_mnist",
    "dbm_finetune",
    "dbn_mnist",
    "dbn_mnist_cg20",
    "dbn_mnist_sgd",
    "horse_segmentation",
    "mnist_restoration",
]


def main() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs"
    sections = sorted((docs / "benchmarks").glob("*.md"))
    rank = {name: i for i, name in enumerate(ORDER)}
    sections.sort(key=lambda p: (rank.get(p.stem, len(ORDER)), p.stem))
    parts = [
        "# Benchmarks\n",
        "Each section below was written by the script named in it (`benchmarks/`), "
        "comparing `pgm` side by side with its peers in one process run, on the machine "
        "stated in the section. Re-run a script to refresh its section, then "
        "`python benchmarks/collect.py`.\n",
    ]
    for path in sections:
        parts.append(path.read_text().strip() + "\n")
    (docs / "benchmarks.md").write_text("\n".join(parts))
    print(f"wrote {docs / 'benchmarks.md'} from {len(sections)} sections")


if __name__ == "__main__":
    main()
