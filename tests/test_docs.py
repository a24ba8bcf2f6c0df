"""The README is one screen that links every page of docs/, and the docs stay true to the
code where a test can tell: links resolve, documented names exist."""

import re
from pathlib import Path

import pytest

from gru_keras import schema

REPOSITORY = Path(__file__).resolve().parents[1]
README = REPOSITORY / "README.md"
DOCS = REPOSITORY / "docs"
MARKDOWN = [
    README,
    REPOSITORY / "CHANGELOG.md",
    REPOSITORY / "data" / "README.md",
    REPOSITORY / "reports" / "README.md",
    *sorted(DOCS.glob("*.md")),
]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


def test_the_readme_is_one_screen_that_links_every_doc():
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    linked = {match.group(1) for match in LINK.finditer(text)}
    assert {f"docs/{page.name}" for page in DOCS.glob("*.md")} <= linked


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda page: str(page.relative_to(REPOSITORY)))
def test_every_relative_link_resolves(page):
    for match in LINK.finditer(page.read_text()):
        target = match.group(1)
        if "://" in target:
            continue
        assert (page.parent / target).exists(), f"{page.name} links {target}"


def test_every_make_target_the_readme_names_exists():
    makefile = (REPOSITORY / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.M))
    named = set(re.findall(r"`make ([a-z-]+)", README.read_text()))
    assert named and named <= targets, named - targets


def test_the_experiments_doc_documents_every_metric_group():
    text = (DOCS / "experiments.md").read_text()
    for group in schema.METRIC_GROUPS:
        assert f"`{group}/`" in text, group
    assert f"`{schema.HEADLINE}`" in text
