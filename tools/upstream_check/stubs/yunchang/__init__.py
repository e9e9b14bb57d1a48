# STUB. Upstream's own no-yunchang fallback (a local `class AttnType: FA3 = None`) cannot work:
# USPAttention's default argument `AttnType.FA` raises AttributeError at import. So this stub
# provides LongContextAttention (unusable: raises if built; the harness never builds it).
class LongContextAttention:
    def __init__(self, *a, **k):
        raise RuntimeError("stub yunchang: LongContextAttention is not available")
