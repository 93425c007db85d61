"""The rich console the command line prints through (loaded on first output, not for `--help`)."""

from __future__ import annotations

from rich.console import Console, ConsoleDimensions


class WideConsole(Console):
    """A rich console that, writing to a file or a pipe, never wraps: a table piped to a file
    keeps one line per row instead of folding at 80 columns."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(10_000, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]
