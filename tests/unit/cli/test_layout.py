"""Text layout of the CLI: ``ceph -h``-style wrapping, ``shoal ceph --help``,
``shoal config show`` rows, command aliases in help, ``rbd``'s progress lines."""

from __future__ import annotations

import io

import click
import pytest
from click.testing import CliRunner

from shoal.cli._common import AliasGroup, output_width, wrap_text
from shoal.cli.ceph import _help_text
from shoal.cli.config import _text_blocks
from shoal.cli.main import cli
from shoal.cli.rbd._fmt import Progress


def test_wrap_text_breaks_after_separators_and_indents_continuations() -> None:
    lines = wrap_text("osd pool get <pool> size|min_size|pg_num", 20)
    assert lines == ["osd pool get <pool>", " size|min_size|pg_", " num"]
    assert all(len(line) <= 20 for line in lines)
    assert wrap_text("", 10) == [""]
    assert wrap_text("short", 10) == ["short"]
    assert wrap_text("abcdefghijkl", 5) == ["abcde", " fghi", " jkl"]  # no break point: cut
    assert wrap_text("a,b c,d", 4, indent=2, breaks=" ,") == ["a,b", "  c,", "  d"]


@pytest.mark.parametrize("width", [40, 80, 123, 200])
def test_ceph_help_fits_the_width_in_two_columns(width: int) -> None:
    text = _help_text([], width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    left = (width - 1) // 2
    row = next(line for line in lines if line.startswith("fsid "))
    assert row.startswith("fsid".ljust(left) + " show cluster FSID/")
    # every command is there, its words whole when the column has room for them
    joined = text.replace("\n ", "").replace(" " * 3, " ")
    assert "osd pool create" in joined and "auth get-or-create" in joined


def test_ceph_help_narrowed_to_the_words_given() -> None:
    text = _help_text(["auth"], 80)
    assert "auth ls" in text and "osd pool" not in text


def test_config_rows_share_a_comment_column_or_put_the_comment_first() -> None:
    rows = [("a = 1", "default"), ("bb = 22", "default"),
            ("long_name = " + "x" * 60, "/etc/shoal/shoal.conf:12 [s] long_name"),
            ("list = " + ", ".join(["VALUE_NUMBER"] * 8), "default")]
    blocks = _text_blocks(rows, 60)
    assert blocks[0] == ["a = 1    # default"]
    assert blocks[1] == ["bb = 22  # default"]
    assert blocks[2][0].startswith("# /etc/shoal/shoal.conf:12")
    assert blocks[3][0] == "# default"
    assert blocks[3][2].startswith("    VALUE_NUMBER")  # continuation: INI readers join it
    assert all(len(line) <= 60 for block in blocks[:2] + blocks[3:] for line in block)
    assert " ".join(line.strip() for line in blocks[3][1:]) == rows[3][0]


def test_output_width_is_80_off_a_terminal() -> None:
    assert output_width() == 80  # pytest captures stdout


def test_aliases_resolve_and_show_beside_their_command() -> None:
    group = AliasGroup("g")

    @click.command("remove")
    def remove() -> None:
        """Delete an image.

        More text that the list does not show."""
        click.echo("removed")

    group.add_command(remove, aliases=["rm"])
    runner = CliRunner()
    assert runner.invoke(group, ["rm"]).output == "removed\n"
    listed = runner.invoke(group, ["--help"]).output
    assert "  remove (rm)  Delete an image.\n" in listed
    assert "  rm " not in listed and "More text" not in listed


def test_subcommand_help_names_the_global_options_once() -> None:
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"]).output
    assert "Keyring file" in top
    for words in (["rbd", "ls", "--help"], ["rbd", "snap", "rm", "--help"], ["up", "--help"]):
        text = runner.invoke(cli, words).output
        assert "Keyring file" not in text and text.count("Global options") == 1, words


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_lines(monkeypatch: pytest.MonkeyPatch, terminal: bool) -> None:
    err = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    progress = Progress("Importing image", enabled=True)
    for done in (0, 1, 42, 42, 99, 100):
        assert progress.update(done, 100) == 0
    progress.finish()
    shown = ("\rImporting image: 1% complete...\rImporting image: 42% complete..."
             "\rImporting image: 99% complete...\rImporting image: 100% complete...")
    done = "\rImporting image: 100% complete...done.\n"
    assert err.getvalue() == (shown + done if terminal else done)


def test_progress_failed_reports_the_last_percentage(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _Terminal()
    monkeypatch.setattr("sys.stderr", err)
    progress = Progress("Image flatten", enabled=True)
    progress.update(3, 10)
    progress.fail()
    assert err.getvalue().endswith("\rImage flatten: 30% complete...failed.\n")
    quiet = Progress("Image flatten", enabled=False)
    quiet.update(5, 10)
    quiet.finish()
    assert err.getvalue().endswith("failed.\n")  # --no-progress: nothing more
