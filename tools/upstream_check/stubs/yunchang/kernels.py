import enum


class AttnType(enum.Enum):  # STUB: members referenced as defaults (never used to run attention)
    FA = "fa"
    FA3 = "fa3"
    TORCH = "torch"
