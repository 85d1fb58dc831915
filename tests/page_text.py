"""What a person reads on a page of the hub or the accounts service, for tests to assert on."""

from html.parser import HTMLParser


class _TableText(HTMLParser):
    """The text of each table row's cells as a person reads it (white space folded)."""

    def __init__(self):
        super().__init__()
        self.rows, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def table_rows(html):
    """[[cell text, ...], ...] of every table row in ``html``, headers included."""
    parser = _TableText()
    parser.feed(html)
    return parser.rows
