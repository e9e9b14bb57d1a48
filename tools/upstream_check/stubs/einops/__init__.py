"""STUB of einops.rearrange for plain patterns (named axes and parenthesised groups, no ellipsis,
no anonymous axes): split input groups into elementary axes, permute, merge output groups."""
import math

__all__ = ["rearrange"]


def _groups(side):
    out, cur = [], None
    for t in side.replace("(", " ( ").replace(")", " ) ").split():
        if t == "(":
            assert cur is None
            cur = []
        elif t == ")":
            out.append(cur)
            cur = None
        else:
            assert t != "..." and not t.isdigit(), "stub einops: unsupported axis " + t
            (cur.append(t) if cur is not None else out.append([t]))
    assert cur is None
    return out


def rearrange(x, pattern, /, **sizes):
    lhs, rhs = pattern.split("->")
    lg, rg = _groups(lhs), _groups(rhs)
    assert len(lg) == x.dim(), (pattern, tuple(x.shape))
    known = dict(sizes)
    for g, n in zip(lg, x.shape):
        unknown = [a for a in g if a not in known]
        p = math.prod(known[a] for a in g if a in known)
        if len(unknown) == 1:
            assert n % p == 0, (pattern, tuple(x.shape), sizes)
            known[unknown[0]] = n // p
        else:
            assert not unknown and p == n, (pattern, tuple(x.shape), sizes)
    la = [a for g in lg for a in g]
    ra = [a for g in rg for a in g]
    assert sorted(la) == sorted(ra) and len(set(la)) == len(la), pattern
    x = x.reshape([known[a] for a in la]).permute([la.index(a) for a in ra])
    return x.reshape([math.prod(known[a] for a in g) for g in rg])
