"""Type errors that name their argument.

PyO3 converts a keyword argument of the wrong type with Python's own message
(``must be real number, not str``) and names the argument only in a note
(``while processing 'dt'``), which ``str(error)`` and most logs leave out.
``naming_arguments`` puts the name in the message itself.
"""

import functools
import re

_NOTE = re.compile(r"^while processing '([A-Za-z_][A-Za-z0-9_]*)'$")


def naming_arguments(function):
    """``function``, its TypeErrors about an argument worded ``<name>: <message>``."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except TypeError as error:
            names = [m.group(1) for note in getattr(error, "__notes__", ()) if (m := _NOTE.match(str(note)))]
            if not names or str(error).startswith(f"{names[0]}"):
                raise
            raise TypeError(f"{names[0]}: {error}") from error

    return wrapper
