"""The one base error of rpl; every domain error derives from it and names the offending value."""


class RplError(Exception):
    """Base of every error rpl raises on purpose."""
