"""rpl: recognition of prior learning, attested by the organisations that saw it."""

__version__ = "0.1.0"
