# The book's commands. `make book` builds the site, `make test` runs every
# test, `make lab` opens the chapters in JupyterLab. Each creates the virtual
# environment .venv (Python 3.11, pinned versions) on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# (No MPLBACKEND here: notebook kernels must keep matplotlib's inline backend, or the
# built site and the executed notebooks lose their figures; tests/test_site.py checks that
# the chapter pages have figures.)
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# Parallel kernels for `make book` and pytest-xdist workers for `make test` (both cores here).
JOBS   ?= 2

.PHONY: book test check lab env clean clean-book help bench student colab slides instructor problem-sets grade book-course pdf mutations ledger

help:
	@echo "make book   build the site (executes every notebook) into _build/html"
	@echo "make test   unit, property and doctests of semlib, book checks, lint, types, every notebook, the site"
	@echo "make check lint, format, types and semlib's unit tests (the inner loop, about a minute)"
	@echo "make lab    open the chapters in JupyterLab"
	@echo "make mutations    plant every declared bug, check that its check cell fails, record it and rewrite the ledger"
	@echo "make bench  time semlib against the peer libraries (dit) on identical inputs"
	@echo "make student       write student notebooks (solutions replaced by stubs, plain Markdown) to _build/student"
	@echo "make slides        one reveal.js deck per lecture (offline, from the executed notebooks) in _build/slides"
	@echo "make problem-sets  write the six problem sets' student and instructor editions to _build/problem_sets"
	@echo "make grade SUBMISSIONS=dir   autograde submitted problem-set notebooks (nbgrader): scores.csv and feedback in _build/grades"
	@echo "make instructor    write the instructor edition (exam bank, problem-set solutions) to _build/instructor -- keep private"
	@echo "make colab         write a Colab / plain-Jupyter edition of every chapter (plain Markdown) to _build/colab"
	@echo "make book-course   build the site without solutions into _build/course/_build/html"
	@echo "make pdf    the whole book as a PDF (needs TeX Live, see README) in _build/latex/book.pdf"
	@echo "make clean  remove the build folder and the environment"

env: $(STAMP)

$(STAMP): requirements/lock.txt requirements/nodeps.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == (3, 11) else print("warning: the lock file was made for Python 3.11, this is %d.%d" % v))'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	# pip byte-compiles serially (291 s for this step on the loaded 2-core machine, 112 s with
	# --no-compile). Compile afterwards on both cores instead: the .pyc files must exist, since
	# this machine sets PYTHONDONTWRITEBYTECODE=1 and every kernel would otherwise recompile
	# torch from source (measured: notebook time +34 % in CI). compileall's exit status is
	# ignored: a file it cannot compile (vendored Python-2 test data) is compiled, or not, on import.
	# The packages' own test suites (a quarter of the files, never imported here) are skipped.
	$(BIN)/python -m pip install --quiet --no-compile -r requirements/lock.txt
	-$(BIN)/python -m compileall -q -j 0 -x '/tests?/' $(VENV)/lib > /dev/null 2>&1
	$(BIN)/python -m pip install --quiet --no-deps -r requirements/nodeps.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

book: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py --jobs $(JOBS)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo
	@echo "The book is built: open file://$(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup --durations=15

# The inner loop (about a minute): lint, format, types and semlib's unit tests, no notebooks or site.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $(JOBS) -q -m "not slow" tests/ semlib/ --ignore=tests/test_lint.py

# JupyterLab with jupyterlab-myst (both pinned in the lock file), so that the chapters' MyST
# (definitions, equations, admonitions, cross-references) renders instead of showing as raw
# text. Jupyter refuses to start as root unless told; in a container (and on CI machines) one
# often is root, so the flag is added exactly then: it changes nothing else. LAB_ARGS passes
# more options (e.g. LAB_ARGS="--no-browser --port 8890"); tests/test_lab.py starts it this way.
LAB_ARGS ?=
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir=chapters $(LAB_ARGS)

# The book-wide mutation run (tools/mutate.py): every bug declared in verification/*.yml is
# planted in a temporary copy and must make its check cell fail. It records the result in
# verification/mutation_run.json and regenerates the verification ledger page from it.
mutations: $(STAMP)
	$(BIN)/python tools/mutate.py --record --jobs $(JOBS)
	$(BIN)/python tools/ledger.py

ledger: $(STAMP)
	$(BIN)/python tools/ledger.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

student: $(STAMP)
	$(BIN)/python tools/student_notebooks.py --out _build/student

# One reveal.js deck per lecture page (tools/slides.py): statements, labelled equations,
# figures of the executed notebooks, summary; reveal.js and MathJax are copied in (no network).
slides: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py --jobs $(JOBS)
	$(BIN)/python tools/slides.py --out _build/slides
	@echo "The slides are built: open file://$(CURDIR)/_build/slides/index.html"

# Problem sets (course/problem_sets/, nbgrader format): student and instructor editions,
# never on the site (tests/test_privacy.py).
problem-sets: $(STAMP)
	$(BIN)/python tools/grade.py --editions --out _build/problem_sets

# Grade every notebook in SUBMISSIONS with nbgrader's hidden tests (tools/grade.py):
# GRADES/scores.csv (one row per student, one column per problem) and GRADES/feedback/.
GRADES ?= _build/grades
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || (echo "usage: make grade SUBMISSIONS=folder [GRADES=dir]"; exit 1)
	$(BIN)/python tools/grade.py $(SUBMISSIONS) --out $(GRADES)

# Exam bank and problem-set solutions for instructors only; never published.
instructor: $(STAMP)
	$(BIN)/python tools/instructor_edition.py --out _build/instructor

# One notebook per chapter for Colab or plain Jupyter: MyST rewritten as plain Markdown
# (tools/plain_markdown.py), solutions kept, glued numbers filled from the executed notebooks.
colab: $(STAMP)
	$(BIN)/python tools/plain_markdown.py --executed --out _build/colab

# The course site: same book, solutions left out of the pages, the search index and the
# downloadable sources (sphinx-exercise's hide_solutions plus _ext/hide_gated_solutions.py).
book-course: $(STAMP)
	$(BIN)/python tools/course_config.py --out _build/course/_config.yml
	$(BIN)/jupyter-book build . --config _build/course/_config.yml --path-output _build/course --warningiserror --nitpick --keep-going
	@echo "The course site (no solutions) is in _build/course/_build/html"

# The PDF goes through XeLaTeX. System packages (Debian/Ubuntu):
#   apt-get install latexmk texlive-xetex texlive-latex-extra texlive-fonts-recommended \
#                   texlive-fonts-extra texlive-plain-generic fonts-freefont-otf xindy
pdf: $(STAMP)
	$(BIN)/jupyter-book build . --builder pdflatex
	@echo "The PDF is _build/latex/book.pdf"

clean-book:
	rm -rf _build

clean: clean-book
	rm -rf $(VENV)
