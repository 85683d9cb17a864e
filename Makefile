# The two commands a fresh machine needs: `make run` and `make test`.
.PHONY: run test setup train check lock bench scaled clean

setup:
	@scripts/setup.sh

train: setup
	@scripts/train.sh

check: setup
	@.venv/bin/python -m bot check
	@.venv/bin/python -m bot warm

run: check train
	@scripts/run.sh

test: check
	@scripts/setup.sh --test-tools
	@scripts/test.sh

bench: check train
	@.venv/bin/python bench/matcher.py
	@PYTHONPATH=. .venv/bin/python bench/latency.py --start -n 500 -c 1 -c 10

scaled: check train
	@scripts/scaled.sh

lock: setup
	@.venv/bin/pip freeze | sed '1i # Exact versions for a reproducible install (pip install -r requirements.txt -c constraints.txt).\n# Regenerate with: make lock' > constraints.txt
	@.venv/bin/pip freeze --all | grep -iE '^(setuptools|wheel)==' >> constraints.txt

clean:
	rm -rf models var .pytest_cache
