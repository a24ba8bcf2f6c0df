"""Names that become paths and filter strings."""

import pytest

from gru_keras.names import check_name, inside, quoted


@pytest.mark.parametrize("name", ["suite", "adding-T100", "numbers.v2", "a_b", "0"])
def test_plain_names_pass(name):
    assert check_name(name, "suite name") == name


@pytest.mark.parametrize(
    "name", ["", "../x", "a/b", "/tmp/x", ".hidden", "-flag", "a\nb", "a b", "a'b", "é", 3]
)
def test_names_with_paths_quotes_or_spaces_are_refused(name):
    with pytest.raises(ValueError, match="is not a valid name: use only letters, digits"):
        check_name(name, "suite name")


def test_inside_refuses_a_file_name_that_resolves_outside_its_folder(tmp_path):
    assert inside(tmp_path, "a-summary.csv") == tmp_path / "a-summary.csv"
    for escape in ("../a.pdf", "/etc/a.pdf", "sub/../../a.pdf"):
        with pytest.raises(ValueError, match="would be written outside"):
            inside(tmp_path, escape)


def test_quoted_makes_a_filter_literal_or_refuses():
    assert quoted("adding__lstm__0") == "'adding__lstm__0'"
    assert quoted("it's") == '"it\'s"'
    with pytest.raises(ValueError, match="both quote characters"):
        quoted("""a'b"c""")
