"""How much the evaluation figures move when only DIET's random seed changes.

Why: a retrain after a small data change (six small-talk examples) moved held-out top-1 by a
point and out-of-scope declined by three, both ways. Before reading a change of that size as
a gain or a loss we need the spread that training noise alone gives. This trains config.yml
with DIET seeds other than its own (same data, same everything else), replays the evaluation
set through each model with bench/retrieval.py, and prints every split's figures per seed
with their mean and range. Nothing is chosen from it.

    .venv/bin/python bench/seeds.py --seeds 1,2,3     # about 2 minutes per seed on 2 cores
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^(tune|heldout|all)\s+(\d+)\s+([\d.]+)%\s+([\d.]+)%\s+([\d.]+)%.*?\s(\d+)\s+([\d.]+)%$")
FIELDS = ("top-1", "top-3", "wrong", "oos declined")


def train(seed: int) -> Path:
    """Train config.yml with DIET's random_seed set to ``seed``; the log goes to var/."""
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    for component in config["pipeline"]:
        if component["name"] == "DIETClassifier":
            component["random_seed"] = seed
    path = ROOT / "var" / f"config-seed{seed}.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    name = f"seed{seed}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "bot", "nlu-export", "--out", "var/nlu/kb_nlu.yml"],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    with open(ROOT / "var" / f"train-{name}.log", "w") as log:
        subprocess.run([str(ROOT / ".venv" / "bin" / "rasa"), "train", "--config", str(path), "--data", "data",
                        "var/nlu", "--domain", "domain.yml", "--fixed-model-name", name, "--out", "models"],
                       cwd=ROOT, env=env, check=True, stdout=log, stderr=subprocess.STDOUT)
    return ROOT / "models" / f"{name}.tar.gz"


def figures(model: Path) -> dict[str, tuple[float, ...]]:
    """The per-split rows of bench/retrieval.py for ``model``."""
    env = {**os.environ, "MUTUALS_MODEL": str(model), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "bench/retrieval.py"], cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        m = ROW.match(line.strip())
        if m:
            rows[m.group(1)] = (float(m.group(3)), float(m.group(4)), float(m.group(5)), float(m.group(7)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "seeds.txt")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    began = time.time()
    per_seed: dict[int, dict[str, tuple[float, ...]]] = {}
    for i, seed in enumerate(seeds, 1):
        print(f"seeds: [{i}/{len(seeds)}] training with DIET seed {seed} (log var/train-seed{seed}.log)", flush=True)
        per_seed[seed] = figures(train(seed))
    lines = [f"Evaluation figures by DIET seed (config.yml otherwise unchanged), bench/seeds.py, "
             f"{time.strftime('%Y-%m-%d %H:%M')}, {(time.time() - began) / 60:.1f} min",
             f"{'split':<9}{'seed':>6}" + "".join(f"{f:>14}" for f in FIELDS)]
    for split in ("tune", "heldout", "all"):
        for seed in seeds:
            lines.append(f"{split:<9}{seed:>6}" + "".join(f"{v:>13.1f}%" for v in per_seed[seed][split]))
        cols = list(zip(*(per_seed[s][split] for s in seeds)))
        lines.append(f"{split:<9}{'mean':>6}" + "".join(f"{sum(c) / len(c):>13.1f}%" for c in cols))
        lines.append(f"{split:<9}{'range':>6}" + "".join(f"{max(c) - min(c):>13.1f} " for c in cols))
    text = "\n".join(lines)
    print(text)
    args.results.write_text(text + "\n")


if __name__ == "__main__":
    main()
