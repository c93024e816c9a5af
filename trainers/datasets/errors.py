"""The one error type the dataset catalog raises on bad user input."""


class DatasetError(ValueError):
    """A dataset could not be loaded; the message says why and what to do instead.

    `line` and `column` point into an uploaded file where that applies (1-based line numbers, as
    an editor shows them); `option` names the dataset option at fault.
    """

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None,
                 option: str | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.option = option
